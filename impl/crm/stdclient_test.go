package crm

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"

	"goquiz/common"
)

// stdClient is the candidate replacement of Client on net/http, measured
// against it by BenchmarkRegimes: a tuned Transport (one idle connection
// kept per publisher, HTTP/2 over TLS when h2 is set, no compression),
// used through RoundTrip so that no redirect is followed.
type stdClient struct {
	endpoint string
	timeout  time.Duration
	auth     []string
	tr       *http.Transport
	// jsonBody encodes with encoding/json instead of appendCustomer.
	jsonBody bool
}

// Constant header values, shared by every request.
var (
	hdrJSON      = []string{"application/json"}
	hdrUserAgent = []string{userAgent}
)

func newStdClient(endpoint string, opts Options, h2 bool, tlsCfg *tls.Config) (*stdClient, error) {
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	timeout := cmpOr(opts.Timeout, DefaultTimeout)
	maxConns := cmpOr(opts.MaxConns, DefaultMaxConns)
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	c := &stdClient{timeout: timeout}
	switch {
	case opts.Token != "":
		c.auth = []string{"Bearer " + opts.Token}
	case u.User != nil:
		r := &http.Request{Header: http.Header{}}
		pass, _ := u.User.Password()
		r.SetBasicAuth(u.User.Username(), pass)
		c.auth = r.Header["Authorization"]
	}
	u.User = nil
	c.endpoint = u.String()
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(h2)
	c.tr = &http.Transport{
		Proxy:                  func(r *http.Request) (*url.URL, error) { return proxy(r.URL) },
		DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
		TLSClientConfig:        tlsCfg,
		TLSHandshakeTimeout:    timeout,
		DisableCompression:     true,
		MaxIdleConnsPerHost:    maxConns,
		MaxConnsPerHost:        maxConns,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxHeader,
		Protocols:              &protos,
	}
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *stdClient) CloseIdleConnections() { c.tr.CloseIdleConnections() }

func (c *stdClient) Publish(ctx context.Context, cust common.Customer) (common.Budget, error) {
	if err := ctx.Err(); err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	rctx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body []byte
	if c.jsonBody {
		body = encodeWithJSON(nil, cust)
	} else {
		body = appendCustomer(make([]byte, 0, encodedSizeHint(cust)), cust)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	req.Header = http.Header{
		"Content-Type":    hdrJSON,
		"User-Agent":      hdrUserAgent,
		"Idempotency-Key": {common.IdempotencyKey(cust.ID)},
	}
	if c.auth != nil {
		req.Header["Authorization"] = c.auth
	}
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, ctxErr)
		}
		return common.Budget{}, transportError(err)
	}
	status := resp.StatusCode
	var retryAfter string
	if status != http.StatusOK {
		retryAfter = resp.Header.Get("Retry-After")
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxBody)
	_ = resp.Body.Close()
	if status == http.StatusOK {
		return common.Budget{}, nil
	}
	return common.Budget{}, statusError(status, retryAfter, time.Now())
}
