package e2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/internal/harness"
	"goquiz/internal/testbin"
)

// upstreamClient passes the double's requests on to an upstream CRM.
var upstreamClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}

// forward passes a request to url and returns the upstream's status and
// Retry-After in seconds; 502 when it could not be reached.
func (d *crmDouble) forward(url string, r *http.Request, body []byte) (status, retryAfter int) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadGateway, 0
	}
	for _, h := range []string{"Content-Type", "Idempotency-Key", "Authorization"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := upstreamClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	retryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, retryAfter
}

// loadAndDeliver runs the parser on path, then an integrator with env
// until the n records are sent, stops it and returns how long it all
// took.
func loadAndDeliver(t *testing.T, dsn string, db *sql.DB, path string, n int, env []string) time.Duration {
	t.Helper()
	start := time.Now()
	parsed(t, runParser(t, dsn, path), n, n, 0, 0)
	p := startIntegrator(t, env)
	waitAllSent(t, db, n)
	took := time.Since(start)
	stopIntegrator(t, p)
	return took
}

// checkOnceWithRetryAfter checks that the CRM accepted each customer of
// want once, as stored and sent, and that some were told to wait, none
// tried again before its Retry-After; it returns the CRM's figures and the
// waits checked.
func checkOnceWithRetryAfter(t *testing.T, crm *crmDouble, db *sql.DB, want map[int64]common.Customer) (crmStats, int) {
	t.Helper()
	st := checkOnce(t, crm, db, want)
	waits := crm.checkRetryAfter(t)
	require.Positive(t, waits, "some customers were told to wait")
	return st, waits
}

// startHTTPAPI starts the mock CRM binary with env on a free loopback
// port and returns its base URL once it answers HTTP (a 401 of /stats
// under API_TOKEN included), and the process; it is killed when the test
// ends if it still runs.
func startHTTPAPI(t *testing.T, env ...string) (string, *testbin.Process) {
	t.Helper()
	addr := testbin.FreeAddr(t)
	p := testbin.Start(t, httpapiBin(t), append([]string{"API_LISTEN=" + addr}, env...))
	base := "http://" + addr
	require.NoError(t, harness.WaitReady(context.Background(), p.Process, 30*time.Second, "httpapi not answering", harness.Answers(nil, base, "/stats")))
	return base, p
}

// Scenario 12: a CRM that polices its rate. The real httpapi allows 500
// requests per second (a token bucket of 50; 429 with Retry-After: 1
// beyond), 2 ms a request; the double in front of it records every
// request. The integrator, with its defaults but the test's short retry
// delays, finds the rate: every customer is accepted once (the CRM's own
// counters say so), no customer is tried again before its Retry-After,
// and few requests are refused.
func TestRateLimitedCRM(t *testing.T) {
	const n, rps = 10000, 500
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	path, want := writeInput(t, n, 10)
	api, _ := startHTTPAPI(t, "RATE_LIMIT_RPS="+strconv.Itoa(rps), "RATE_LIMIT_BURST=50", "LATENCY=2ms", "LOG_INTERVAL=1m")
	crm := newCRM(t, faults{Upstream: api + "/customers"}, 10)

	took := loadAndDeliver(t, dsn, db, path, n, integratorEnv(dsn, crm.URL(), "WORKERS=8"))
	st, waits := checkOnceWithRetryAfter(t, crm, db, want)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api429, err := mockcrm.FetchStats(ctx, nil, api, "")
	require.NoError(t, err)
	require.Equal(t, int64(n), api429.Accepted, "the CRM's own count")
	require.Zero(t, api429.Duplicates)
	refused := float64(api429.Throttled) / float64(api429.Requests)
	require.Less(t, refused, 0.15, "refused share")
	rate := float64(n) / crm.lastAccepted().Sub(crm.firstRequest()).Seconds()
	figures(t, "12 (rate-limited CRM, 500/s)", n, took, st, fmt.Sprintf("throttled=%d (%.1f%% of requests) retry_after_checked=%d accepted=%.0f/s",
		api429.Throttled, 100*refused, waits, rate))
}

// lastAccepted is when the last customer accepted was answered.
func (d *crmDouble) lastAccepted() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var last time.Time
	for _, as := range d.attempts {
		for _, a := range as {
			if a.status == http.StatusOK && a.answered.After(last) {
				last = a.answered
			}
		}
	}
	return last
}
