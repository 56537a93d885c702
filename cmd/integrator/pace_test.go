package main_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/internal/promtest"
	"goquiz/internal/testbin"
)

// TestPacingIsVisible runs the daemon against a mock CRM that allows 200
// requests per second: everything is delivered once, the metrics show the
// limit it settled on and the requests allowed in flight, and its log has
// a line for the limit, not one per request.
func TestPacingIsVisible(t *testing.T) {
	const n = 600
	dsn := pgtest.DSN(t)
	rec, srv := newRecorder(mockcrm.Config{RateLimitRPS: 200, RateLimitBurst: 20})
	defer srv.Close()
	addr := testbin.FreeAddr(t)
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "METRICS_LISTEN="+addr, "WORKERS=6"))
	require.Eventually(t, func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond)
	seed(t, dsn, 1, n)
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == n }, time.Minute, 50*time.Millisecond)

	got := promtest.Scrape(t, "http://"+addr+"/metrics")
	assert.Positive(t, got["goquiz_delivery_rate_limit"], "the CRM throttled: a limit is in force")
	assert.Less(t, got["goquiz_delivery_rate_limit"], 2000.0)
	assert.Equal(t, 6.0, got["goquiz_delivery_in_flight_limit"])
	assert.Positive(t, got[`goquiz_delivery_retries_total{reason="status_429"}`])
	stopGracefully(t, p)
	customers, resent := rec.check(t)
	assert.Equal(t, n, customers)
	assert.Zero(t, resent)
	lines := strings.Count(p.Output(), `msg="pacing requests to the CRM"`)
	assert.GreaterOrEqual(t, lines, 1, p.Output())
	assert.Less(t, lines, 20, "a line per large step, not per request")
}

// TestMaxRateIsInForceFromTheStart checks MAX_RATE on a CRM that never
// throttles: the limit is MAX_RATE at once, and stays.
func TestMaxRateIsInForceFromTheStart(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, srv := newRecorder(mockcrm.Config{})
	defer srv.Close()
	addr := testbin.FreeAddr(t)
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "METRICS_LISTEN="+addr, "MAX_RATE=2.5"))
	require.Eventually(t, func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond)
	seed(t, dsn, 1, 3)
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 3 }, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, 2.5, promtest.Scrape(t, "http://"+addr+"/metrics")["goquiz_delivery_rate_limit"])
	stopGracefully(t, p)
	assert.Contains(t, p.Output(), "max_rate=2.5")
}
