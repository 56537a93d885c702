package e2e_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// notHeard is the start of the integrator's line saying that
// notifications do not reach it.
const notHeard = "notifications do not reach this integrator"

// Scenario 13: everything through PgBouncer in transaction mode, with its
// stock settings (pgtest.BouncerINI): the parser loads the file; two
// integrators deliver, A with LISTEN_DSN pointed at the server (woken by
// notifications, its POLL_INTERVAL a minute), B without (it finds that no
// notification reaches it, says so once, and polls). The CRM fails a
// share of requests and MAX_ATTEMPTS is 1, so some records are given up;
// then the CRM goes down and B is SIGKILLed in the middle of delivering,
// once everything the CRM accepted is recorded sent: A takes B's claims
// over when their lease runs out. integrator status and retry-failed run
// through PgBouncer too; retry-failed's notification, sent through
// PgBouncer, wakes A within a second. Every customer reaches the CRM
// once, with no duplicate, and no log shows a prepared statement or
// a startup parameter that PgBouncer refused.
func TestThroughPgBouncer(t *testing.T) {
	const n, chunk = 20000, 2000
	direct := pgtest.DSN(t)
	db := openDB(t, direct)
	_, pooled := pgtest.Bouncing(t, direct, pgtest.BouncerOptions{})
	path, want := writeInput(t, n, 13)
	healthy := faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond}
	flaky := healthy
	flaky.FailRate = 0.05
	crm := newCRM(t, flaky, 13)
	extra := []string{"WORKERS=8", "MAX_ATTEMPTS=1", "LEASE=2s"}

	start := time.Now()
	a := startIntegrator(t, integratorEnv(pooled, crm.URL(), append(extra, "LISTEN_DSN="+direct, "POLL_INTERVAL=1m")...))
	b := startIntegrator(t, integratorEnv(pooled, crm.URL(), append(extra, "POLL_INTERVAL=500ms")...))
	waitFor(t, 30*time.Second, 20*time.Millisecond, "B's line saying it polls", func() bool {
		return strings.Contains(b.Output(), notHeard)
	})
	require.Equal(t, 1, strings.Count(b.Output(), notHeard), b.Output())
	t.Log(grepLines(b.Output(), notHeard, 1))
	require.Contains(t, grepLines(b.Output(), notHeard, 1), "poll_interval=500ms")

	parsed(t, runParser(t, pooled, path, "CHUNK_SIZE="+strconv.Itoa(chunk)), n, n, 0, 0)
	waitAccepted(t, crm, n/3)

	// The CRM goes down: nothing more is accepted. Once every accepted
	// record is recorded sent, B still holds claims (it retries, and
	// gives up, against the outage) but no record the CRM has: killing
	// it now must cost no duplicate.
	down := healthy
	down.Unavailable = true
	crm.setFaults(down)
	time.Sleep(100 * time.Millisecond) // requests that drew an acceptance before are answered
	waitFor(t, 30*time.Second, 20*time.Millisecond, "what the CRM accepted recorded sent", func() bool {
		return sentCount(db) == crm.acceptedCount()
	})
	held := count(db, `SELECT coalesce(sum(cardinality(ids)), 0) FROM claims WHERE owner = $1`, instance(t, b))
	b.Kill()
	crm.setFaults(flaky)
	waitFor(t, deliveryTimeout, 100*time.Millisecond, "no pending record", func() bool {
		return count(db, `SELECT count(*) FROM customers WHERE state = 'pending'`) == 0
	})
	failed := count(db, `SELECT count(*) FROM customers WHERE state = 'failed'`)
	require.Positive(t, failed, "records given up after MAX_ATTEMPTS=1")

	res := testbin.Run(t, integratorBin(t), []string{"DSN=" + pooled}, nil, "status")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Regexp(t, fmt.Sprintf(`(?m)^  failed +%d$`, failed), res.Stdout)
	require.Regexp(t, fmt.Sprintf(`(?m)^  sent +%d$`, n-failed), res.Stdout)
	require.Contains(t, res.Stdout, "run integrator retry-failed")

	crm.setFaults(healthy)
	retried := time.Now()
	res = testbin.Run(t, integratorBin(t), []string{"DSN=" + pooled}, nil, "retry-failed")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("%d failed records put back to pending", failed))
	waitAllSent(t, db, n)
	took := time.Since(start)
	first, ok := crm.firstAcceptedAfter(retried)
	require.True(t, ok)
	wake := first.Sub(retried)
	require.Less(t, wake, time.Second, "A is woken by retry-failed's notification, through PgBouncer to its LISTEN_DSN")
	requireRunning(t, a)
	stopIntegrator(t, a)

	res = testbin.Run(t, integratorBin(t), []string{"DSN=" + pooled}, nil, "status")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Regexp(t, fmt.Sprintf(`(?m)^  sent +%d$`, n), res.Stdout)

	st := checkDelivered(t, crm, db, want)
	require.Zero(t, st.Duplicates, "no record the CRM accepted was sent again")
	refused := regexp.MustCompile(`prepared statement|unsupported startup parameter|does not exist`)
	for name, out := range map[string]string{"A": a.Output(), "B": b.Output()} {
		require.NotRegexp(t, refused, out, "integrator %s", name)
	}
	require.NotContains(t, a.Output(), notHeard, "A hears notifications through LISTEN_DSN")
	figures(t, "13 (PgBouncer, transaction mode: parser, 2 integrators, one SIGKILLed, status, retry-failed)", n, took, st,
		fmt.Sprintf("given_up=%d held_by_the_killed=%d first_delivery_after_retry_failed=%dms", failed, held, wake.Milliseconds()))
}
