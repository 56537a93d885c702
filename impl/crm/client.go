package crm

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

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

// Options configures a Client. The zero value is usable: it POSTs
// goquiz's JSON object with an Idempotency-Key, and only 200 delivers.
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
	// Method is the request's method: POST (when empty), PUT or PATCH.
	Method string
	// Body, when set, is the request body's template; nil sends the
	// customer as {"id":…,"first_name":…,"last_name":…,"email":…,"phone":…}.
	Body *BodyTemplate
	// Header holds extra headers sent with every request (see
	// ParseHeaders). Their values are secrets: they never appear in
	// errors or logs.
	Header http.Header
	// IdempotencyHeader names the header carrying the customer's
	// idempotency key; empty means DefaultIdempotencyHeader.
	IdempotencyHeader string
	// NoIdempotencyKey sends no idempotency key, for a CRM that takes
	// none.
	NoIdempotencyKey bool
	// Success lists the statuses that mean the CRM has the customer;
	// empty means 200 only. Any other answer is a failed attempt.
	Success []int
}

// Client publishes customers to the CRM. It is safe for concurrent use.
type Client struct {
	// endpoint is the request URL: the configured one without its
	// credentials, its placeholders replaced per customer.
	endpoint endpoint
	method   string
	body     *BodyTemplate
	timeout  time.Duration
	// header is every request's header but the idempotency key's, shared
	// (never changed) by all requests; keyHeader is the key's, "" for
	// none.
	header    http.Header
	keyHeader string
	success   []int
	tr        *http.Transport
}

// CheckToken returns why token cannot be sent as a bearer token, if it
// cannot: the check net/http makes of every header value it sends.
func CheckToken(token string) error {
	if !httpguts.ValidHeaderFieldValue(token) {
		return errors.New("contains characters not allowed in an HTTP header (a line break?)")
	}
	return nil
}

// Redacted returns endpoint for logs and errors: without the credentials
// of its user information (sent as Basic auth), placeholders shown. An
// endpoint that is not one (another scheme, a URL that does not parse)
// keeps its text but for its user information, shown as "***@".
func Redacted(endpoint string) string {
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return urlUserinfo.ReplaceAllString(endpoint, "${1}***@")
	}
	return ep.String()
}

// urlUserinfo is the user information of a URL, parsed or not: what
// follows the scheme's "//" up to the last '@' before the path, query or
// fragment.
var urlUserinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// New returns a Client that sends customers to endpoint, an absolute
// http or https URL whose path or query may hold the placeholders {id},
// {first_name}, {last_name}, {email} and {phone}, replaced by each
// customer's value (escaped as a path segment, or a query value). When
// the environment names a proxy for endpoint (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY, read now), requests go through it; a proxy URL whose scheme
// is not http, https, socks5 or socks5h is an error.
func New(endpoint string, opts Options) (*Client, error) {
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("crm: invalid endpoint: %w", err)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("crm: timeout %v is negative", opts.Timeout)
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("crm: max conns %d is negative", opts.MaxConns)
	}
	if err := CheckToken(opts.Token); err != nil {
		return nil, fmt.Errorf("crm: token %w", err)
	}
	c := &Client{endpoint: ep, body: opts.Body, success: opts.Success}
	if c.method, err = checkMethod(opts.Method); err != nil {
		return nil, err
	}
	if c.header, c.keyHeader, err = requestHeader(opts, ep.user != nil); err != nil {
		return nil, err
	}
	if len(c.success) == 0 {
		c.success = []int{http.StatusOK}
	}
	for _, s := range c.success {
		if s < 200 || s > 599 {
			return nil, fmt.Errorf("crm: success status %d is not between 200 and 599", s)
		}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	maxConns := opts.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	u, err := url.Parse(ep.of(common.Customer{}))
	if err != nil {
		return nil, fmt.Errorf("crm: invalid endpoint: %w", err)
	}
	proxy, err := proxyFromEnvironment(u)
	if err != nil {
		return nil, fmt.Errorf("crm: proxy: %w", err)
	}
	c.timeout = timeout
	c.tr = newTransport(timeout, maxConns, proxy)
	switch {
	case opts.Token != "":
		c.header["Authorization"] = []string{"Bearer " + opts.Token}
	case ep.user != nil:
		// Credentials in the endpoint, as http.Client would send them.
		pass, _ := ep.user.Password()
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(ep.user.Username(), pass)
		c.header["Authorization"] = r.Header["Authorization"]
	}
	return c, nil
}

// checkMethod returns the request method opts names: POST when empty,
// else POST, PUT or PATCH in any case.
func checkMethod(m string) (string, error) {
	switch up := strings.ToUpper(m); up {
	case "":
		return http.MethodPost, nil
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return up, nil
	}
	return "", fmt.Errorf("crm: method %q is not POST, PUT or PATCH", m)
}

// requestHeader returns the header every request shares — Content-Type,
// User-Agent and the extra headers — and the name of the idempotency
// key's header ("" for none). An extra header that names a reserved
// header, the key's, or Authorization when the client sets it (a token,
// or credentials in the endpoint) is an error.
func requestHeader(opts Options, credentials bool) (http.Header, string, error) {
	h := http.Header{"Content-Type": headerJSON, "User-Agent": headerUserAgent}
	key := ""
	if !opts.NoIdempotencyKey {
		key = cmp.Or(opts.IdempotencyHeader, DefaultIdempotencyHeader)
		if err := CheckHeaderName(key); err != nil {
			return nil, "", fmt.Errorf("crm: idempotency header %q: %w", key, err)
		}
		key = http.CanonicalHeaderKey(key)
	}
	for name, values := range opts.Header {
		if err := CheckHeaderName(name); err != nil {
			return nil, "", fmt.Errorf("crm: extra header: %w", err)
		}
		canon := http.CanonicalHeaderKey(name)
		switch {
		case canon == key:
			return nil, "", fmt.Errorf("crm: extra header %s is the idempotency key's", canon)
		case canon == "Authorization" && (opts.Token != "" || credentials):
			return nil, "", errors.New("crm: extra header Authorization is set by the token, or the endpoint's credentials")
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, "", fmt.Errorf("crm: extra header %s: its value holds a character not allowed in a header", canon)
			}
		}
		h[canon] = slices.Clone(values)
	}
	return h, key, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() {
	c.tr.CloseIdleConnections()
}
