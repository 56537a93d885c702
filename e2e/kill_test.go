package e2e_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/internal/testbin"
)

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
