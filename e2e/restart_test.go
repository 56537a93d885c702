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

// startCluster starts a PostgreSQL cluster of the test's own, to restart
// and kill without disturbing the other tests. Commits are synchronous (but
// not fsynced): a killed server loses nothing it acknowledged, as in
// production, while a crash of the machine is not what is tested.
func startCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"synchronous_commit": "on"}})
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL cluster of our own: %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// restart restarts the cluster, killing it first when kill is set, and
// returns how long it was down.
func restart(t *testing.T, c *pgtest.Cluster, kill bool) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if kill {
		c.Kill()
	}
	require.NoError(t, c.Restart(ctx))
	return time.Since(start)
}

// Scenario 5: PostgreSQL restarted under the binaries.
func TestPostgresRestart(t *testing.T) {
	c := startCluster(t)

	// During delivery: a fast shutdown and restart, then a crash (SIGKILL)
	// and restart. The integrator survives both (it retries the store
	// until it is back) and delivers everything once: what it delivered
	// while the store was away is recorded when it returns.
	t.Run("during delivery", func(t *testing.T) {
		const n = 20000
		sc := newScenarioOn(t, c.DSN("postgres"), n, 5, faults{Jitter: 2 * time.Millisecond})
		dsn, db, crm := sc.dsn, sc.db, sc.crm

		start := time.Now()
		parsed(t, runParser(t, dsn, sc.path), n, n, 0, 0)
		p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
		waitAccepted(t, crm, n/4)
		down1 := restart(t, c, false)
		requireRunning(t, p)
		waitAccepted(t, crm, n/2)
		down2 := restart(t, c, true)
		requireRunning(t, p)
		waitAllSent(t, db, n)
		took := time.Since(start)
		requireRunning(t, p)
		stopIntegrator(t, p)

		st := checkOnce(t, crm, db, sc.want)
		figures(t, "5a (PostgreSQL restarted during delivery: fast shutdown, then SIGKILL)", n, took, st,
			fmt.Sprintf("downtime=%dms,%dms", down1.Milliseconds(), down2.Milliseconds()))
	})

	// During a parser run: the server restarts while the parser is in the
	// middle of storing a chunk, then, with the integrator running all the
	// while, the same after a crash of the server. The parser stores the
	// chunk the restart cut again once the server is back (it retries for
	// up to CONNECT_TIMEOUT) and finishes: every customer stored once; the
	// integrator survives and delivers them all once.
	for _, tt := range []struct {
		name string
		kill bool
	}{
		{"fast shutdown", false},
		{"SIGKILL", true},
	} {
		t.Run("during a parser run/"+tt.name, func(t *testing.T) {
			const n, chunk = 20000, 2000
			name := "parser_" + strings.ToLower(strings.ReplaceAll(tt.name, " ", "_"))
			admin := openDB(t, c.DSN("postgres"))
			_, err := admin.Exec(`CREATE DATABASE ` + name)
			require.NoError(t, err)
			sc := newScenarioOn(t, c.DSN(name), n, 6, faults{Jitter: 2 * time.Millisecond})
			dsn, db, want, crm := sc.dsn, sc.db, sc.want, sc.crm
			input, err := os.ReadFile(sc.path)
			require.NoError(t, err)

			start := time.Now()
			p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
			// The parser reads its input from a pipe we feed: four chunks
			// first, which it commits.
			feed := pipeInput(t, parserBin(t), []string{"DSN=" + dsn, fmt.Sprintf("CHUNK_SIZE=%d", chunk)})
			feed.write(t, input[:rowsEnd(input, 4*chunk)])
			waitFor(t, time.Minute, 10*time.Millisecond, "four chunks committed", func() bool {
				return count(db, `SELECT count(*) FROM customers`) == 4*chunk
			})
			// Then a transaction of ours inserts an id of the fifth chunk
			// and neither commits nor rolls back: the parser's copy of
			// that chunk waits for it, and the restart lands in the
			// middle of it, whatever the machine's speed.
			blocker := block(t, db, want[4*chunk+chunk/2])
			defer blocker.Rollback()
			go feed.finish(input[rowsEnd(input, 4*chunk):])
			waitCopyBlocked(t, db)
			committed := count(db, `SELECT count(*) FROM customers`)
			down := restart(t, c, tt.kill)
			code, err := feed.p.Wait(time.Minute)
			require.NoError(t, err)
			out := feed.p.Output()
			require.Equal(t, 0, code, out)
			require.Contains(t, out, fmt.Sprintf("read %d rows: %d stored, 0 duplicates, 0 rejected", n, n))
			retried := strings.Count(out, "connection lost while storing a chunk")
			require.Positive(t, retried, "the chunk the restart cut was stored again:\n%s", out)
			requireRunning(t, p)

			waitAllSent(t, db, n)
			took := time.Since(start)
			requireRunning(t, p)
			stopIntegrator(t, p)

			st := checkOnce(t, crm, db, want)
			figures(t, fmt.Sprintf("5b (PostgreSQL restarted during a parser run, %s)", tt.name), n, took, st,
				fmt.Sprintf("committed_before_restart=%d chunk_retries=%d stored_twice=0 downtime=%dms", committed, retried, down.Milliseconds()))
		})
	}
}
