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
	"goquiz/internal/testbin"
)

// TestQuotaMetByAProbePausesEverything: a CRM that fails ten requests in
// a row (500: it looks down, and is probed one request at a time), then
// answers 503 with Retry-After: 120, a quota (issue 23: "a 429 (or 503)
// whose Retry-After ... lies 60 s or more ahead pauses all sending to
// that CRM until then ... no request is spent probing before the reset").
// The probe that meets the quota is the last request: the daemon says
// until when, and sends nothing more, although records are due.
func TestQuotaMetByAProbePausesEverything(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 200)
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		n := requests
		mu.Unlock()
		if n <= 10 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Retry-After", "120")
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return requests }
	// One worker: the failures come in a row, and the probes every 50 to
	// 100 ms (RETRY_DELAY, RETRY_MAX_DELAY) would be seen within a second.
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=1", "RETRY_DELAY=50ms", "RETRY_MAX_DELAY=100ms"))
	require.Eventually(t, func() bool { return count() > 10 }, 20*time.Second, 10*time.Millisecond, p.Output())
	time.Sleep(2 * time.Second)
	got := count()
	stopGracefully(t, p)
	assert.Equal(t, 11, got, "ten failures, one probe meeting the quota, then nothing before it ends")
	assert.Equal(t, 1, strings.Count(p.Output(), "the CRM's quota is spent"), p.Output())
	assert.Contains(t, p.Output(), `msg="CRM looks down`)
}
