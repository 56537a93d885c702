package main_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/promtest"
	"goquiz/internal/testbin"
)

// TestStartCheckGoesThroughTheProxy: behind HTTP_PROXY, the CRM's host
// may not even resolve from the integrator's machine (crm.invalid never
// does); requests go through the proxy (docs/integrator.md), so the check
// at start looks at the proxy, not at the CRM's host: no warning while
// the proxy is up, and one naming the proxy when it is not.
func TestStartCheckGoesThroughTheProxy(t *testing.T) {
	const endpoint = "http://crm.invalid/customers"
	tests := []struct {
		name    string
		proxyUp bool
		want    string // in the warning; "" for none
	}{
		{"proxy up", true, ""},
		{"proxy down", false, "CRM unreachable at start: its proxy http://127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			seed(t, dsn, 1, 3)
			var mu sync.Mutex
			var uris []string
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				uris = append(uris, r.RequestURI)
				mu.Unlock()
				w.WriteHeader(http.StatusOK)
			}))
			defer proxy.Close()
			proxyURL := proxy.URL
			if !tt.proxyUp {
				proxy.Close()
				proxyURL = "http://" + testbin.FreeAddr(t)
			}
			metrics := testbin.FreeAddr(t)
			envv := append(env(dsn, "http://unused"), "API_ENDPOINT="+endpoint, "HTTP_PROXY="+proxyURL, "NO_PROXY=", "METRICS_LISTEN="+metrics)
			p := testbin.Start(t, integrator(t), envv)
			require.Eventually(t, func() bool { code, _ := httpGet("http://" + metrics + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond, p.Output())
			if tt.proxyUp {
				require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 3 }, 20*time.Second, 20*time.Millisecond, p.Output())
				mu.Lock()
				assert.Len(t, uris, 3)
				for _, u := range uris {
					assert.Equal(t, endpoint, u, "sent to the proxy, for the CRM")
				}
				mu.Unlock()
				assert.Equal(t, 1.0, promtest.Scrape(t, "http://"+metrics+"/metrics")["goquiz_crm_up"])
			} else {
				require.Eventually(t, func() bool { return strings.Contains(p.Output(), "unreachable at start") }, 20*time.Second, 20*time.Millisecond, p.Output())
			}
			stopGracefully(t, p)
			if tt.want == "" {
				assert.NotContains(t, p.Output(), "unreachable at start")
			} else {
				assert.Contains(t, p.Output(), tt.want)
				assert.Contains(t, p.Output(), "check HTTP_PROXY or HTTPS_PROXY")
			}
		})
	}
}
