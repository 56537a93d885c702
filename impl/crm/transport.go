package crm

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// newTransport returns the Transport of a Client: as many keep-alive
// connections kept as publishers, and at most that many open; HTTP/2 over
// TLS when the CRM offers it; answers uncompressed (they are discarded);
// the answer's header bounded by maxHeader; proxy as given.
func newTransport(timeout time.Duration, maxConns int, proxy func(*url.URL) (*url.URL, error)) *http.Transport {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	// A connection that stops answering is found by a ping after half a
	// timeout without a frame, and closed when the ping gets no answer
	// within the other half: an HTTP/2 connection carries every
	// publisher's requests, and would otherwise keep being used until TCP
	// gives up on it, minutes later. (A stuck HTTP/1.1 connection is
	// closed with the request that timed out on it.)
	ping := max(timeout/2, time.Second)
	return &http.Transport{
		Proxy:                  func(r *http.Request) (*url.URL, error) { return proxy(r.URL) },
		DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:    timeout,
		MaxIdleConnsPerHost:    maxConns,
		MaxConnsPerHost:        maxConns,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxHeader,
		Protocols:              &protocols,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout:  ping,
			PingTimeout:      ping,
			WriteByteTimeout: timeout,
		},
	}
}

// CheckProxy returns why the proxy the environment names for endpoint
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) cannot be used, if it cannot: the
// check New makes, for a program to make before it starts.
func CheckProxy(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil // the endpoint's own check tells
	}
	_, err = proxyFromEnvironment(u)
	return err
}

// ProxyFor returns the proxy the environment names for endpoint
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; never for localhost), the one its
// requests go through, or nil when they go direct.
func ProxyFor(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("crm: invalid endpoint: %w", err)
	}
	proxy, err := proxyFromEnvironment(u)
	if err != nil {
		return nil, err
	}
	return proxy(u)
}

// proxyFromEnvironment returns the proxy to use for each request URL as
// HTTP_PROXY, HTTPS_PROXY and NO_PROXY say now (never for localhost), and
// checks the one endpoint would use. net/http's ProxyFromEnvironment
// reads the environment once per process; this reads it per Client.
func proxyFromEnvironment(endpoint *url.URL) (func(*url.URL) (*url.URL, error), error) {
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	p, err := proxy(endpoint)
	if err != nil {
		// The parser's error repeats the proxy's URL, password included.
		return nil, errors.New("HTTP_PROXY or HTTPS_PROXY is not a URL")
	}
	if p != nil {
		switch p.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("HTTP_PROXY or HTTPS_PROXY: scheme %q is not http, https, socks5 or socks5h", p.Scheme)
		}
	}
	return proxy, nil
}
