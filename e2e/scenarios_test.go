package e2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
	"goquiz/internal/testbin"
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
	ln, err := postgres.Listen(dsn, postgres.Options{Wait: 10 * time.Second}, nil)
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

// Scenario 4: the integrator killed with SIGKILL three times during
// delivery, restarted at once each time. Everything is delivered; the
// customers the CRM accepted but a killed integrator had not recorded yet
// are sent again, with the same key. They are among the records the
// killed integrator held: those it leaves leased when it dies.
func TestKillIntegrator(t *testing.T) {
	const (
		n     = 20000
		kills = 3
	)
	// Some latency keeps requests in flight when the kill comes.
	sc := newScenario(t, n, 4, faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond})
	// A short lease: what a killed integrator held is due again 2s after
	// its last renewal.
	env := integratorEnv(sc.dsn, sc.crm.URL(), "LEASE=2s")

	held, took := sc.killAndRestart(t, env, kills, time.Now())
	st := checkDelivered(t, sc.crm, sc.db, sc.want)
	require.LessOrEqual(t, st.Duplicates, held, "duplicates are records the killed integrators held")
	figures(t, fmt.Sprintf("4 (SIGKILL integrator x%d)", kills), n, took, st, fmt.Sprintf("held_by_the_killed=%d", held))
}

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

// piped is a process reading its standard input from a pipe the test
// feeds.
type piped struct {
	p *testbin.Process
	w *os.File
}

// pipeInput starts bin with "-" as its argument, reading from a pipe.
func pipeInput(t *testing.T, bin string, env []string) *piped {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	p := testbin.StartWithStdin(t, bin, env, r, "-")
	r.Close()
	t.Cleanup(func() { w.Close() })
	return &piped{p: p, w: w}
}

// write writes b to the process's input, failing t (unless nil) on error.
func (f *piped) write(t *testing.T, b []byte) {
	_, err := f.w.Write(b)
	if t != nil {
		require.NoError(t, err)
	}
}

// finish writes the rest of the input and closes it, ignoring errors (the
// process may be gone).
func (f *piped) finish(rest []byte) {
	f.write(nil, rest)
	f.w.Close()
}

// rowsEnd returns the offset in a CSV input (one line per record) just
// past its header and the given number of rows.
func rowsEnd(input []byte, rows int) int {
	off := 0
	for range rows + 1 {
		off += bytes.IndexByte(input[off:], '\n') + 1
	}
	return off
}

// block inserts c in a transaction that it leaves open: a chunk holding
// c's id waits for it, mid-copy, until it ends.
func block(t *testing.T, db *sql.DB, c common.Customer) *sql.Tx {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.FirstName, c.LastName, c.Email, c.Phone)
	require.NoError(t, err)
	return tx
}

// waitCopyBlocked waits until a parser's copy waits for a transaction of
// block.
func waitCopyBlocked(t *testing.T, db *sql.DB) {
	t.Helper()
	waitFor(t, time.Minute, 10*time.Millisecond, "a parser's copy waiting for our transaction", func() bool {
		return count(db, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'COPY%'`) == 1
	})
}

// waitStored waits until the database holds n customers.
func waitStored(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	waitFor(t, time.Minute, 10*time.Millisecond, fmt.Sprintf("%d customers stored", n), func() bool {
		return count(db, `SELECT count(*) FROM customers`) == n
	})
}

// Scenario 6: the parser killed with SIGKILL mid-file, twice, while the
// integrator delivers: first in the middle of copying a chunk, then while
// it reads its input between two chunks. Each rerun skips what is stored;
// the last one loads the rest: every row stored once, and delivered once.
func TestKillParser(t *testing.T) {
	const n, chunk = 20000, 2000
	sc := newScenario(t, n, 7, faults{Jitter: 2 * time.Millisecond})
	dsn, db, want, crm := sc.dsn, sc.db, sc.want, sc.crm
	input, err := os.ReadFile(sc.path)
	require.NoError(t, err)
	parserEnv := []string{"DSN=" + dsn, fmt.Sprintf("CHUNK_SIZE=%d", chunk)}

	start := time.Now()
	p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
	waitListening(t, db, 1) // and the schema exists

	// Killed mid-copy: three chunks committed, the fourth held by a
	// transaction of ours on one of its ids.
	first := pipeInput(t, parserBin(t), parserEnv)
	first.write(t, input[:rowsEnd(input, 3*chunk)])
	waitStored(t, db, 3*chunk)
	blocker := block(t, db, want[3*chunk+chunk/2])
	go first.write(nil, input[rowsEnd(input, 3*chunk):]) // fails once the parser is gone
	waitCopyBlocked(t, db)
	first.p.Kill()
	require.NoError(t, blocker.Rollback())
	require.Equal(t, 3*chunk, count(db, `SELECT count(*) FROM customers`), "the chunk being copied is not stored")

	// Killed between chunks: the rerun skips the three chunks stored,
	// stores four more and waits for the rest of its input.
	second := pipeInput(t, parserBin(t), parserEnv)
	second.write(t, input[:rowsEnd(input, 7*chunk+chunk/2)])
	waitStored(t, db, 7*chunk)
	second.p.Kill()
	require.Equal(t, 7*chunk, count(db, `SELECT count(*) FROM customers`))

	parsed(t, runParser(t, dsn, sc.path, fmt.Sprintf("CHUNK_SIZE=%d", chunk)), n, n-7*chunk, 7*chunk, 0)
	took := deliverAll(t, db, want, p, start)

	st := checkOnce(t, crm, db, want)
	figures(t, "6 (SIGKILL parser x2, mid-copy and between chunks)", n, took, st,
		fmt.Sprintf("stored_by_run=%d,%d,%d stored_twice=0", 3*chunk, 4*chunk, n-7*chunk))
}

// Scenario 7: two, then three integrators delivering at once, woken by the
// same notifications, through a CRM failing 10% of the requests (so that
// they also compete for retries). Everything is delivered once, and each
// integrator delivered its share.
func TestConcurrentIntegrators(t *testing.T) {
	for _, k := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d integrators", k), func(t *testing.T) {
			const n = 20000
			sc := newScenario(t, n, int64(70+k), faults{FailRate: 0.1, Jitter: 2 * time.Millisecond})
			dsn, db, crm := sc.dsn, sc.db, sc.crm

			start := time.Now()
			// Eight workers each: together as many as one integrator of
			// the other scenarios, or more.
			env := integratorEnv(dsn, crm.URL(), "WORKERS=8")
			ps := make([]*testbin.Process, k)
			for i := range ps {
				ps[i] = startIntegrator(t, env)
			}
			waitListening(t, db, k)
			parsed(t, runParser(t, dsn, sc.path, "CHUNK_SIZE=2000"), n, n, 0, 0)
			waitAllSent(t, db, n)
			took := time.Since(start)
			shares := make([]string, k)
			total := 0
			for i, p := range ps {
				stopIntegrator(t, p)
				d := deliveredBy(t, p)
				require.Positive(t, d, "integrator %d delivered some", i+1)
				total += d
				shares[i] = strconv.Itoa(d)
			}
			require.Equal(t, n, total, "each customer delivered by one integrator")

			st := checkOnce(t, crm, db, sc.want)
			figures(t, fmt.Sprintf("7 (%d integrators at once)", k), n, took, st, "delivered_by_each="+strings.Join(shares, ","))
		})
	}
}

// Scenario 8: the integrator stopped with SIGTERM twice during delivery,
// restarted each time. It exits 0 promptly (its requests in flight finish,
// it records them and releases what it had claimed but not sent), nothing
// stays leased, and the restarts deliver everything once. The lease is a
// minute: a record left leased would hold up the end for that long.
func TestSIGTERMIntegrator(t *testing.T) {
	const (
		n     = 20000
		stops = 2
	)
	sc := newScenario(t, n, 8, faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond})
	dsn, db, crm := sc.dsn, sc.db, sc.crm
	env := integratorEnv(dsn, crm.URL(), "LEASE=1m")

	start := time.Now()
	parsed(t, runParser(t, dsn, sc.path), n, n, 0, 0)
	p := startIntegrator(t, env)
	var took []string
	released := 0
	for k := 1; k <= stops; k++ {
		waitAccepted(t, crm, k*n/(stops+1))
		d := stopIntegrator(t, p)
		// Prompt: the requests in flight end within REQUEST_TIMEOUT (2s).
		require.Less(t, d, 3*time.Second, "exit after SIGTERM")
		took = append(took, fmt.Sprintf("%dms", d.Milliseconds()))
		m := regexp.MustCompile(`msg="integrator stopped" .*released=(\d+)`).FindStringSubmatch(p.Output())
		require.NotNil(t, m, p.Output())
		r, _ := strconv.Atoi(m[1])
		released += r
		require.Zero(t, count(db, `SELECT count(*) FROM claims`), "claims left behind")
		p = startIntegrator(t, env)
	}
	elapsed := deliverAll(t, db, sc.want, p, start)

	st := checkOnce(t, crm, db, sc.want)
	figures(t, fmt.Sprintf("8 (SIGTERM integrator x%d)", stops), n, elapsed, st,
		fmt.Sprintf("exit_after=%s released=%d", strings.Join(took, ","), released))
}
