package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
)

// startStandby starts a streaming standby of primary, synchronous: the
// primary acknowledges a commit once the standby has it, so that a
// failover loses nothing acknowledged.
func startStandby(t *testing.T, primary *pgtest.Cluster) *pgtest.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	standby, err := primary.StartStandby(ctx, pgtest.Options{Settings: map[string]string{"synchronous_commit": "on"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = standby.Stop() })
	admin := openDB(t, primary.DSN("postgres"))
	// Set after the base backup: the standby, once promoted, waits for no
	// standby of its own.
	_, err = admin.Exec(`ALTER SYSTEM SET synchronous_standby_names = '*'`)
	require.NoError(t, err)
	_, err = admin.Exec(`SELECT pg_reload_conf()`)
	require.NoError(t, err)
	waitFor(t, time.Minute, 20*time.Millisecond, "a synchronous standby", func() bool {
		return count(admin, `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'`) == 1
	})
	return standby
}

// Scenario 11: a real failover. A primary and its synchronous streaming
// standby; two integrators and a parser use a DSN that lists both, with
// target_session_attrs=read-write. The primary is killed (SIGKILL) while
// the integrators deliver and the parser is in the middle of copying a
// chunk (held there by a transaction of ours on one of its ids); the
// standby is promoted a moment later. The parser stores the chunk again
// on the new primary and finishes, the integrators reconnect to it and
// deliver everything; a record sent twice carries its first key.
func TestFailover(t *testing.T) {
	const n, chunk, promoteAfter = 30000, 1000, 300 * time.Millisecond
	primary := startCluster(t)
	standby := startStandby(t, primary)
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write",
		primary.Port(), standby.Port())
	old := openDB(t, primary.DSN("postgres"))
	path, want := writeInput(t, n, 110)
	input, err := os.ReadFile(path)
	require.NoError(t, err)
	crm := newCRM(t, faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond}, 110)
	env := integratorEnv(dsn, crm.URL(), "DB_TIMEOUT="+dbTimeout.String(), "WORKERS=8")

	start := time.Now()
	a := startIntegrator(t, env)
	waitListening(t, old, 1) // and the schema exists
	b := startIntegrator(t, env)
	waitListening(t, old, 2)
	feed := pipeInput(t, parserBin(t), []string{"DSN=" + dsn, fmt.Sprintf("CHUNK_SIZE=%d", chunk),
		"DB_TIMEOUT=" + dbTimeout.String(), "CONNECT_TIMEOUT=20s"})
	feed.write(t, input[:rowsEnd(input, 10*chunk)])
	waitStored(t, old, 10*chunk)
	blocker := block(t, old, want[10*chunk+chunk/2])
	defer blocker.Rollback()
	go feed.finish(input[rowsEnd(input, 10*chunk):])
	waitCopyBlocked(t, old)
	waitAccepted(t, crm, chunk)

	killed := time.Now()
	primary.Kill()
	time.Sleep(promoteAfter)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, standby.Promote(ctx))
	promoted := time.Now()
	downtime := promoted.Sub(killed)
	// Delivery resumes when records are marked sent on the new primary
	// again (requests went on meanwhile, for the records held).
	db := openDB(t, standby.DSN("postgres"))
	sentBefore := sentCount(db)
	waitFor(t, time.Minute, 5*time.Millisecond, "records marked sent on the new primary", func() bool {
		return sentCount(db) > sentBefore
	})
	resumed := time.Since(promoted)

	code, err := feed.p.Wait(time.Minute)
	require.NoError(t, err, feed.p.Output())
	out := feed.p.Output()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, fmt.Sprintf("read %d rows: %d stored, 0 duplicates, 0 rejected", n, n))
	retried := strings.Count(out, "connection lost while storing a chunk")
	require.Positive(t, retried, "the chunk cut by the failover was stored again")

	waitAllSent(t, db, n)
	took := time.Since(start)
	requireRunning(t, a)
	requireRunning(t, b)
	stopIntegrator(t, a)
	stopIntegrator(t, b)

	st := checkDelivered(t, crm, db, want)
	figures(t, "11 (failover: primary SIGKILLed mid-delivery and mid-COPY, synchronous standby promoted)", n, took, st,
		fmt.Sprintf("downtime=%dms (promoted %s after the kill) settles_resumed=%dms after the promotion parser_retries=%d stored_twice=0",
			downtime.Milliseconds(), promoteAfter, resumed.Milliseconds(), retried))
}
