package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"goquiz/impl/crm"
)

// crmDialTimeout bounds the start-up check of the CRM.
const crmDialTimeout = 3 * time.Second

// checkCRM opens, and closes, one TCP connection to the host of endpoint,
// or to the proxy its requests go through (HTTP_PROXY, HTTPS_PROXY), to
// tell at start whether the CRM can be reached. Its error is one line
// that says what to do; the daemon keeps running either way.
func checkCRM(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("API_ENDPOINT %q: %w", endpoint, err)
	}
	proxy, err := crm.ProxyFor(endpoint)
	if err != nil {
		return fmt.Errorf("API_ENDPOINT %q: %w", u.Redacted(), err)
	}
	target := u
	if proxy != nil {
		target = proxy
	}
	port := target.Port()
	if port == "" {
		port = map[string]string{"https": "443", "socks5": "1080", "socks5h": "1080"}[target.Scheme]
		if port == "" {
			port = "80"
		}
	}
	addr := net.JoinHostPort(target.Hostname(), port)
	d := net.Dialer{Timeout: crmDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	switch {
	case err != nil && proxy != nil:
		return fmt.Errorf("CRM unreachable at start: its proxy %s: %v — records wait and are retried until it answers; check HTTP_PROXY or HTTPS_PROXY, NO_PROXY and that the proxy is up", proxy.Redacted(), err)
	case err != nil:
		return fmt.Errorf("CRM unreachable at start: %v — records wait and are retried until it answers; check API_ENDPOINT (%s) and that the CRM is up", err, u.Redacted())
	}
	return conn.Close()
}
