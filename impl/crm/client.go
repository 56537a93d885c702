package crm

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"

	"goquiz/common"
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
	// Timeout bounds each Publish as a whole: connecting, sending the
	// request and reading the answer. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxConns is the number of keep-alive connections kept to the CRM, and
	// the most opened at once: set it to the number of concurrent
	// publishers so that each reuses its own connection. Zero means
	// DefaultMaxConns.
	MaxConns int
}

// Client publishes customers to the CRM over HTTP/1.1 keep-alive
// connections. It is safe for concurrent use.
//
// It sends through fasthttp rather than net/http: on the two shared cores
// goquiz is measured on, net/http's client costs about 27 µs of CPU per
// request and fasthttp's about 17, and delivering to a CRM that answers
// at once is bound by CPU.
type Client struct {
	// uri is the request URI: the endpoint without its credentials.
	uri     string
	timeout time.Duration
	// auth is the Authorization header value, empty when none is sent.
	auth string
	hc   *fasthttp.HostClient
}

// Client implements common.Publisher.
var _ common.Publisher = (*Client)(nil)

// New returns a Client that POSTs customers to endpoint, an absolute http
// or https URL. When the environment names a proxy for endpoint
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), requests go through it: an http
// proxy in a CONNECT tunnel, or a socks5 one.
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
	if !validHeaderValue(opts.Token) {
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
	dial, err := dialer(u.Scheme == "https", timeout)
	if err != nil {
		return nil, err
	}
	c := &Client{
		timeout: timeout,
		hc: &fasthttp.HostClient{
			Addr:  fasthttp.AddMissingPort(u.Host, u.Scheme == "https"),
			IsTLS: u.Scheme == "https",
			Name:  userAgent,
			Dial:  dial,
			// As many connections as publishers, each kept open and
			// reused; a publisher finding none free waits for one.
			MaxConns:           maxConns,
			MaxConnWaitTimeout: timeout,
			// The answer is read whole and discarded; a longer body
			// costs the connection but not the answer's status.
			MaxResponseBodySize: maxBody,
			// The answer's header must fit in the read buffer: room for
			// the cookies and policies some APIs send (fasthttp's
			// default is 4 KiB).
			ReadBufferSize: maxHeader,
			// Send the endpoint's path as configured, escapes included.
			DisablePathNormalizing: true,
			RetryIfErr:             retryOnClosedConn,
			// Room to find every pooled connection closed, and one more.
			MaxIdemponentCallAttempts: maxConns + 2,
		},
	}
	switch {
	case opts.Token != "":
		c.auth = "Bearer " + opts.Token
	case u.User != nil:
		// Credentials in the endpoint, as net/http would send them.
		pass, _ := u.User.Password()
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	u.User = nil
	c.uri = u.String()
	return c, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() {
	c.hc.CloseIdleConnections()
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

// dialer returns how connections are opened: directly, or through the
// proxy the environment names (HTTP_PROXY, HTTPS_PROXY and NO_PROXY, read
// as net/http reads them: never for localhost).
func dialer(isTLS bool, timeout time.Duration) (fasthttp.DialFunc, error) {
	d := &fasthttpproxy.Dialer{Timeout: timeout, ConnectTimeout: timeout, DialDualStack: true}
	dial, err := d.GetDialFuncForTLS(true, isTLS)
	if err != nil {
		return nil, fmt.Errorf("crm: proxy from environment: %w", err)
	}
	return func(addr string) (net.Conn, error) {
		conn, err := dial(addr)
		if err != nil {
			return nil, err
		}
		return &checkedConn{Conn: conn, lastUsed: time.Now()}, nil
	}, nil
}

// retryOnClosedConn tells fasthttp to send a request again, on another
// connection, when its connection had been closed by the CRM while idle:
// nothing of the request was sent (see checkedConn). Any other failure is
// the caller's to retry.
func retryOnClosedConn(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, errClosedIdle)
}

// validHeaderValue reports whether v can be sent in an HTTP header: no
// control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
