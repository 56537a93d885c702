// Package e2e_test is goquiz's fault-tolerance suite: it builds the real
// binaries, runs them as processes against a PostgreSQL cluster it starts
// and controls and a CRM test double that records every request, breaks
// things (a flaky CRM, a CRM outage, killed and stopped processes, a
// restarted database, broken input) and checks that every customer reached
// the CRM, how many were sent twice and that a customer sent twice always
// carried the idempotency key of its first attempt.
//
// Each scenario prints one line of figures to standard output (shown by
// go test -v, or when the package fails).
package e2e_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/gen"
	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: the end-to-end suite is skipped in -short mode")
		os.Exit(0)
	}
	pgtest.Main(m, testbin.Cleanup)
}

// The binaries are built without the race detector, even when the suite
// runs under it: they move tens of thousands of records per scenario, and
// their own tests run them with it.
func parserBin(t *testing.T) string { return testbin.BuildNoRace(t, "goquiz/cmd/parser") }

func integratorBin(t *testing.T) string {
	return testbin.BuildNoRace(t, "goquiz/cmd/integrator")
}

func httpapiBin(t *testing.T) string { return testbin.BuildNoRace(t, "goquiz/cmd/httpapi") }

// deliveryTimeout bounds the wait for a scenario's deliveries: a failure
// bound, far above what they take.
const deliveryTimeout = 3 * time.Minute

// writeInput writes n generated customers (ids 1 to n) to a CSV file and
// returns its path and the customers.
func writeInput(t *testing.T, n int, seed int64) (string, map[int64]common.Customer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, gen.WriteCSV(f, int64(n), seed))
	require.NoError(t, f.Close())
	return path, generated(n, seed)
}

// generated returns the customers gen.WriteCSV writes for n and seed.
func generated(n int, seed int64) map[int64]common.Customer {
	want := make(map[int64]common.Customer, n)
	for c := range gen.Customers(int64(n), seed) {
		want[c.ID] = c
	}
	return want
}

// integratorEnv is the integrator's environment for a scenario: the base
// settings below, overridden by extra.
//
// Retries start at 50ms and are capped at 1s so that a record failing
// several times in a row still finishes within seconds (the defaults, 1s
// and 5m, are for production). Requests time out after 2s: the double
// answers in milliseconds, so only its deliberate hangs run out. The lease
// is 10s, longer than any stall of the machine, so that a live integrator
// never loses its records; crash scenarios shorten it to have records of a
// killed integrator taken over quickly. POLL_INTERVAL is long: integrators
// must be woken by notifications.
func integratorEnv(dsn, endpoint string, extra ...string) []string {
	return append([]string{
		"DSN=" + dsn,
		"API_ENDPOINT=" + endpoint,
		"WORKERS=16",
		"RETRY_DELAY=50ms",
		"RETRY_MAX_DELAY=1s",
		"REQUEST_TIMEOUT=2s",
		"LEASE=10s",
		"POLL_INTERVAL=30s",
		"LOG_LEVEL=info",
	}, extra...)
}

// startIntegrator starts an integrator; it is killed when the test ends if
// it still runs. Its log must not show a deadlock: the store's statements
// must take their row locks in an order that cannot deadlock, whatever
// runs at once (a deadlock costs a second, and an aborted lease renewal
// can cost a lease).
func startIntegrator(t *testing.T, env []string) *testbin.Process {
	t.Helper()
	p := testbin.Start(t, integratorBin(t), env)
	t.Cleanup(func() {
		if n := strings.Count(p.Output(), "deadlock detected"); n > 0 {
			t.Errorf("integrator log shows %d deadlocks:\n%s", n, grepLines(p.Output(), "deadlock detected", 5))
		}
	})
	return p
}

// grepLines returns up to max lines of s that contain sub.
func grepLines(s, sub string, max int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) && len(out) < max {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// stopIntegrator stops an integrator with SIGTERM and checks that it exits
// 0 promptly: within the request timeout, plus the time to record what was
// delivered and release the rest. It returns how long it took.
func stopIntegrator(t *testing.T, p *testbin.Process) time.Duration {
	t.Helper()
	start := time.Now()
	p.Signal(syscall.SIGTERM)
	code, err := p.Wait(30 * time.Second)
	took := time.Since(start)
	require.NoError(t, err, p.Output())
	require.Equal(t, 0, code, p.Output())
	return took
}

// requireRunning fails the test if p has exited.
func requireRunning(t *testing.T, p *testbin.Process) {
	t.Helper()
	if code, err := p.Wait(0); err == nil {
		require.Failf(t, "integrator exited", "exit status %d:\n%s", code, p.Output())
	}
}

var deliveredRE = regexp.MustCompile(`msg="integrator stopped" delivered=(\d+)`)

// deliveredBy returns the number of records an integrator stopped with
// SIGTERM reported as delivered.
func deliveredBy(t *testing.T, p *testbin.Process) int {
	t.Helper()
	m := deliveredRE.FindStringSubmatch(p.Output())
	require.NotNil(t, m, "no stop line in:\n%s", p.Output())
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// runParser runs the parser to its end on path ("-" for stdin) and
// returns its result.
func runParser(t *testing.T, dsn, path string, env ...string) testbin.Result {
	t.Helper()
	return testbin.Run(t, parserBin(t), append([]string{"DSN=" + dsn}, env...), nil, path)
}

// parsed checks a successful parser run's summary line.
func parsed(t *testing.T, res testbin.Result, read, stored, duplicates, rejected int) {
	t.Helper()
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("read %d rows: %d stored, %d duplicates, %d rejected", read, stored, duplicates, rejected))
}

// openDB opens the scenario's database; the schema is created by the
// first binary that connects.
func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// count runs a count query, returning -1 when it fails (the table does not
// exist yet, the server is restarting).
func count(db *sql.DB, query string, args ...any) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

func sentCount(db *sql.DB) int {
	return count(db, `SELECT count(*) FROM customers WHERE state = 'sent'`)
}

// waitFor polls cond every tick until it holds, failing the test with what
// after timeout.
func waitFor(t *testing.T, timeout, tick time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "after %s waiting for %s", timeout, what)
		}
		time.Sleep(tick)
	}
}

// waitAllSent waits until the database holds n sent customers.
func waitAllSent(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	last := 0
	waitFor(t, deliveryTimeout, 100*time.Millisecond, fmt.Sprintf("%d customers sent", n), func() bool {
		last = sentCount(db)
		return last == n
	})
}

// waitAccepted waits until the CRM accepted at least n customers.
func waitAccepted(t *testing.T, crm *crmDouble, n int) {
	t.Helper()
	waitFor(t, deliveryTimeout, 5*time.Millisecond, fmt.Sprintf("%d customers accepted", n), func() bool {
		return crm.acceptedCount() >= n
	})
}

// checkStored asserts that the database holds exactly the customers of
// want, with their values, each once, and all sent if sent is set.
func checkStored(t *testing.T, db *sql.DB, want map[int64]common.Customer, sent bool) {
	t.Helper()
	rows, err := db.Query(`SELECT id, first_name, last_name, email, phone, state FROM customers`)
	require.NoError(t, err)
	defer rows.Close()
	seen := make(map[int64]bool, len(want))
	var wrong []int64
	for rows.Next() {
		var c common.Customer
		var state string
		require.NoError(t, rows.Scan(&c.ID, &c.FirstName, &c.LastName, &c.Email, &c.Phone, &state))
		require.False(t, seen[c.ID], "customer %d stored twice", c.ID)
		seen[c.ID] = true
		if w, ok := want[c.ID]; !ok || w != c || (sent && state != string(common.StateSent)) {
			wrong = append(wrong, c.ID)
		}
	}
	require.NoError(t, rows.Err())
	require.Empty(t, sample(wrong), "customers stored that are not in the input, with other values, or not sent (%d)", len(wrong))
	require.Len(t, seen, len(want), "customers stored")
}

// scenario is how most scenarios start: a database, n generated customers
// in a CSV file, and a CRM double.
type scenario struct {
	dsn  string
	db   *sql.DB
	path string                    // the input
	want map[int64]common.Customer // its customers
	crm  *crmDouble
}

// newScenario sets up a scenario on a fresh test database: n customers
// written from seed, and a double with faults f drawing its fates from
// seed too.
func newScenario(t *testing.T, n int, seed int64, f faults) *scenario {
	t.Helper()
	return newScenarioOn(t, pgtest.DSN(t), n, seed, f)
}

// newScenarioOn is newScenario on the database of dsn.
func newScenarioOn(t *testing.T, dsn string, n int, seed int64, f faults) *scenario {
	t.Helper()
	s := &scenario{dsn: dsn, db: openDB(t, dsn)}
	s.path, s.want = writeInput(t, n, seed)
	s.crm = newCRM(t, f, uint64(seed))
	return s
}

// deliverAll waits until the database of db holds every customer of want
// sent, then stops the integrator p (checking that it exits 0 promptly).
// It returns the time from start until all were sent.
func deliverAll(t *testing.T, db *sql.DB, want map[int64]common.Customer, p *testbin.Process, start time.Time) time.Duration {
	t.Helper()
	waitAllSent(t, db, len(want))
	took := time.Since(start)
	stopIntegrator(t, p)
	return took
}

// checkDelivered is the delivery check of a scenario: the CRM accepted
// each customer of want, with its values and its key (a duplicate with
// the key of the first attempt), and the database holds each once, sent.
// It returns the CRM's figures.
func checkDelivered(t *testing.T, crm *crmDouble, db *sql.DB, want map[int64]common.Customer) crmStats {
	t.Helper()
	st := crm.check(t, want)
	checkStored(t, db, want, true)
	return st
}

// checkOnce is checkDelivered, and no customer was accepted twice.
func checkOnce(t *testing.T, crm *crmDouble, db *sql.DB, want map[int64]common.Customer) crmStats {
	t.Helper()
	st := checkDelivered(t, crm, db, want)
	require.Zero(t, st.Duplicates, "customers accepted twice")
	return st
}

// killAndRestart loads the scenario's input, starts an integrator with env
// and kills it with SIGKILL kills times during delivery, each time once
// another share of the customers was accepted, restarting it at once; then
// it waits until everything is sent and stops the last one. It returns how
// many records the killed integrators held (pending, claimed) when they
// died, and the time from start until all were sent.
func (s *scenario) killAndRestart(t *testing.T, env []string, kills int, start time.Time) (held int, took time.Duration) {
	t.Helper()
	n := len(s.want)
	parsed(t, runParser(t, s.dsn, s.path), n, n, 0, 0)
	p := startIntegrator(t, env)
	for k := 1; k <= kills; k++ {
		waitAccepted(t, s.crm, k*n/(kills+1))
		p.Kill()
		held += count(s.db, `SELECT count(*) FROM customers WHERE state = 'pending' AND id IN (SELECT unnest(ids) FROM claims)`)
		p = startIntegrator(t, env)
	}
	return held, deliverAll(t, s.db, s.want, p, start)
}

// figures prints a scenario's line of figures.
func figures(t *testing.T, scenario string, records int, took time.Duration, st crmStats, extra ...string) {
	t.Helper()
	dups := strconv.Itoa(st.Duplicates)
	if st.Duplicates > 0 {
		dups += " (all with the first key)"
	}
	line := fmt.Sprintf("scenario %s: records=%d time=%.1fs requests=%d retries=%d duplicates=%s",
		scenario, records, took.Seconds(), st.Requests, st.Retries, dups)
	if len(extra) > 0 {
		line += " " + strings.Join(extra, " ")
	}
	t.Log(line)
	fmt.Println(line)
}
