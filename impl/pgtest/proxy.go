package pgtest

import (
	"net/url"
	"testing"

	"goquiz/internal/faultproxy"
)

// Proxy starts a fault proxy (see faultproxy) to the server of dsn, a URL,
// and returns it with dsn pointed at it; the proxy is closed when the test
// ends.
func Proxy(t testing.TB, dsn string) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}
