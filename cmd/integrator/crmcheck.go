package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"
)

// crmDialTimeout bounds the start-up check of the CRM.
const crmDialTimeout = 3 * time.Second

// checkCRM opens, and closes, one TCP connection to the host of endpoint,
// to tell at start whether the CRM can be reached. Its error is one line
// that says what to do; the daemon keeps running either way.
func checkCRM(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("API_ENDPOINT %q: %w", endpoint, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	d := net.Dialer{Timeout: crmDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("CRM unreachable at start: %v — records wait and are retried until it answers; check API_ENDPOINT (%s) and that the CRM is up", err, u.Redacted())
	}
	return conn.Close()
}
