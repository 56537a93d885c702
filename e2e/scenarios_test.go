package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/postgres"
	"goquiz/internal/harness"
)

// waitListening waits until an integrator listens for notifications on the
// database of db.
func waitListening(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	require.NoError(t, harness.WaitReady(context.Background(), nil, 30*time.Second, "integrators not listening", harness.Listening(db, n)))
}

// Scenario 1: a clean run, the integrator idle and waiting before the
// parser loads the file. Everything is delivered once, and the first
// delivery follows the first committed chunk within a second: the
// notification wakes the integrator (its poll interval is a minute).
func TestCleanRun(t *testing.T) {
	const n = 30000
	sc := newScenario(t, n, 1, faults{})
	dsn, db, crm := sc.dsn, sc.db, sc.crm

	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), "POLL_INTERVAL=1m"))
	waitListening(t, db, 1)
	// Our own listener takes the time of the first committed chunk.
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()
	firstCommit := make(chan time.Time, 1)
	go func() {
		<-ln.Wake()
		firstCommit <- time.Now()
	}()

	start := time.Now()
	parsed(t, runParser(t, dsn, sc.path, "CHUNK_SIZE=5000"), n, n, 0, 0)
	took := deliverAll(t, db, sc.want, p, start)
	committed := <-firstCommit

	st := checkOnce(t, crm, db, sc.want)
	latency := crm.firstRequest().Sub(committed)
	require.Less(t, latency, time.Second, "first delivery after the first committed chunk")
	figures(t, "1 (clean run)", n, took, st, fmt.Sprintf("first_delivery=%dms after the first commit", latency.Milliseconds()))
}

// Scenario 2: a flaky CRM. A third of the requests fail with 500, 5% are
// answered 429 with Retry-After: 1, every answer takes up to 5ms, and 0.3%
// hang until the request times out (2s). Everything is delivered once, and
// no customer told to wait is tried again before its Retry-After ran out.
func TestFlakyCRM(t *testing.T) {
	const n = 20000
	sc := newScenario(t, n, 2, faults{
		FailRate:   1.0 / 3,
		LimitRate:  0.05,
		RetryAfter: 1,
		HangRate:   0.003,
		Jitter:     5 * time.Millisecond,
	})
	dsn, db, crm := sc.dsn, sc.db, sc.crm

	// More workers than in the other scenarios: many requests wait for
	// their latency, and each hung request holds a worker for 2s.
	took := loadAndDeliver(t, dsn, db, sc.path, n, integratorEnv(dsn, crm.URL(), "WORKERS=32"))
	st, waits := checkOnceWithRetryAfter(t, crm, db, sc.want)
	require.Positive(t, crm.statusCount(0), "some requests hung")
	figures(t, "2 (flaky CRM)", n, took, st, fmt.Sprintf("status_500=%d status_429=%d hung=%d retry_after_checked=%d",
		crm.statusCount(500), crm.statusCount(429), crm.statusCount(0), waits))
}

// Scenario 3: a CRM outage in the middle of delivery: connections refused
// for 3s, then every request answered 503 (Retry-After: 1) for 2s, then
// healthy again. Everything is delivered once, and while the CRM is down
// the integrator only probes it: the requests of the outage stay few.
func TestCRMOutage(t *testing.T) {
	const (
		n       = 20000
		workers = 16
		refused = 3 * time.Second
		down503 = 2 * time.Second
	)
	sc := newScenario(t, n, 3, faults{Jitter: time.Millisecond, RetryAfter: 1})
	dsn, db, crm := sc.dsn, sc.db, sc.crm

	start := time.Now()
	parsed(t, runParser(t, dsn, sc.path), n, n, 0, 0)
	// Debug logs tell of every failed attempt: the only way to count the
	// requests that found no listener.
	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), fmt.Sprintf("WORKERS=%d", workers), "LOG_LEVEL=debug"))
	waitAccepted(t, crm, n/4)

	outageStart := time.Now()
	crm.stopListening(t)
	time.Sleep(refused) // the outage lasts this long
	crm.setFaults(faults{Unavailable: true, RetryAfter: 1})
	crm.startListening(t)
	time.Sleep(down503)
	crm.setFaults(faults{Jitter: time.Millisecond})
	healthy := time.Now()
	outageTook := healthy.Sub(outageStart)
	acceptedAt := crm.acceptedCount()
	waitAccepted(t, crm, acceptedAt+1)
	recovered := time.Since(healthy)

	waitAllSent(t, db, n)
	took := time.Since(start)
	requireRunning(t, p)
	stopIntegrator(t, p)

	st := checkOnce(t, crm, db, sc.want)
	crm.checkRetryAfter(t)
	requests503 := crm.statusCount(503)
	out := p.Output()
	refusedAttempts := countLines(out, `msg="delivery failed"`, `error="connection`)
	failed503 := countLines(out, `msg="delivery failed"`, `error="status 503"`)
	require.Positive(t, refusedAttempts)
	require.Equal(t, requests503, failed503, "every 503 answer is a failed attempt")
	outage := refusedAttempts + requests503
	// The integrator takes the CRM as down after 10 failures in a row,
	// when its other requests in flight (15 at most) still fail; then only
	// one probe at a time goes out, 50ms, 100ms, 200ms... apart, then
	// every second (RETRY_MAX_DELAY): five plus one a second. But a
	// request that started before the outage and succeeds after it began
	// (the CRM answers the requests it holds as it goes away) starts the
	// count of failures in a row again, and takes the CRM as up again if
	// it was down: each such success can cost up to 10 failures more,
	// and each time it is taken as down up to 10 + 15 + 5 quick probes.
	downs := strings.Split(out, "CRM looks down")
	require.Greater(t, len(downs), 1, "the integrator takes the CRM as down")
	require.Contains(t, downs[len(downs)-1], "CRM is up again")
	afterDown := countLines(downs[len(downs)-1], `msg="delivery failed"`)
	probes := 5 + int(outageTook.Seconds()+1)
	require.LessOrEqual(t, afterDown, workers+probes, "requests once the CRM is taken as down for the last time")
	late := crm.answeredBetween(200, outageStart, healthy)
	require.LessOrEqual(t, outage, (len(downs)-1)*(10+workers+5)+10*late+probes, "requests during the outage")
	require.Less(t, recovered, 3*time.Second, "delivery resumes after the next probe (at most 1s apart)")
	figures(t, "3 (CRM outage)", n, took, st, fmt.Sprintf("outage=%s requests_during_outage=%d (refused=%d, 503=%d; taken as down %d time(s), %d late successes; %d requests after the last) resumed_after=%dms",
		outageTook.Round(100*time.Millisecond), outage, refusedAttempts, requests503, len(downs)-1, late, afterDown, recovered.Milliseconds()))
}

// countLines counts the lines of s that contain all of subs.
func countLines(s string, subs ...string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		all := true
		for _, sub := range subs {
			if !strings.Contains(line, sub) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}
