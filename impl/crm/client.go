package crm

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultTimeout bounds one Publish when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxConns is the connection pool size when Options.MaxConns is
	// zero.
	DefaultMaxConns = 16
)

// Options configures a Client. The zero value is usable.
type Options struct {
	// Token, when set, is sent as "Authorization: Bearer <Token>". It never
	// appears in errors or logs.
	Token string
	// Timeout bounds each Publish as a whole: waiting for a connection,
	// connecting, sending the request and reading the answer. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxConns is the number of keep-alive connections kept to the CRM, and
	// the most opened at once: set it to the number of concurrent
	// publishers so that each reuses its own connection. Zero means
	// DefaultMaxConns.
	MaxConns int
}

// Client publishes customers to the CRM. It is safe for concurrent use.
type Client struct {
	// endpoint is the request URL: the configured one without its
	// credentials.
	endpoint string
	timeout  time.Duration
	// auth is the Authorization header, nil when none is sent.
	auth []string
	tr   *http.Transport
}

// New returns a Client that POSTs customers to endpoint, an absolute http
// or https URL. When the environment names a proxy for endpoint
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, read now), requests go through it;
// a proxy URL whose scheme is not http, https, socks5 or socks5h is an
// error.
func New(endpoint string, opts Options) (*Client, error) {
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("crm: timeout %v is negative", opts.Timeout)
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("crm: max conns %d is negative", opts.MaxConns)
	}
	// The check net/http makes of every header value it sends.
	if !httpguts.ValidHeaderFieldValue(opts.Token) {
		return nil, errors.New("crm: token contains characters not allowed in an HTTP header")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	maxConns := opts.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	proxy, err := proxyFromEnvironment(u)
	if err != nil {
		return nil, err
	}
	c := &Client{timeout: timeout, tr: newTransport(timeout, maxConns, proxy)}
	switch {
	case opts.Token != "":
		c.auth = []string{"Bearer " + opts.Token}
	case u.User != nil:
		// Credentials in the endpoint, as http.Client would send them.
		pass, _ := u.User.Password()
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(u.User.Username(), pass)
		c.auth = r.Header["Authorization"]
	}
	u.User = nil
	c.endpoint = u.String()
	return c, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() {
	c.tr.CloseIdleConnections()
}

// parseEndpoint checks that endpoint is an absolute http or https URL with
// a host.
func parseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("crm: invalid endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("crm: invalid endpoint %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("crm: invalid endpoint %q: no host", u.Redacted())
	}
	return u, nil
}
