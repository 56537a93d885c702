package e2e_test

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
	"goquiz/internal/testbin"
)

// dbTimeout is DB_TIMEOUT in the scenarios that break connections: short,
// so that they stay quick.
const dbTimeout = time.Second

// pgMessages calls f with each whole protocol message at the start of
// data, as a client writes them (a type byte, a length, a body); it stops
// at the first one that does not fit.
func pgMessages(data []byte, f func(typ byte, body []byte)) {
	for len(data) >= 5 {
		n := int(binary.BigEndian.Uint32(data[1:5]))
		if n < 4 || 1+n > len(data) {
			return
		}
		f(data[0], data[5:1+n])
		data = data[1+n:]
	}
}

// cstring returns the NUL-terminated string at the start of b and the rest.
func cstring(b []byte) (string, []byte) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), nil
	}
	return string(b[:i]), b[i+1:]
}

// moments picks the moments at which the proxy freezes an integrator's
// connections, from what goes through it: its next claim or its next
// settle, each one statement (goquiz_claim_versions, goquiz_settle_rejects) that the
// server runs and commits, and whose answer never comes back. Install it
// again after every freeze (a freeze disarms the proxy's rule).
type moments struct {
	mu    sync.Mutex
	claim bool // freeze at the next claim
	settl bool // freeze at the next settle
}

func newMoments() *moments { return &moments{} }

// arm sets which moment freezes next.
func (m *moments) arm(claim, settle bool) {
	m.mu.Lock()
	m.claim, m.settl = claim, settle
	m.mu.Unlock()
}

func (m *moments) rule(conn int, dir faultproxy.Dir, data []byte) faultproxy.Action {
	if dir != faultproxy.ToServer {
		return faultproxy.Pass
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	act := faultproxy.Pass
	pgMessages(data, func(typ byte, body []byte) {
		if typ != 'Q' && typ != 'P' {
			return
		}
		if typ == 'P' {
			_, body = cstring(body) // the statement's name
		}
		switch {
		case m.claim && bytes.Contains(body, []byte("goquiz_claim_versions(")):
			act, m.claim = faultproxy.PassThenFreeze, false
		case m.settl && bytes.Contains(body, []byte("goquiz_settle_rejects(")):
			act, m.settl = faultproxy.PassThenFreeze, false
		}
	})
	return act
}

var instanceRE = regexp.MustCompile(`msg="integrator starting" instance=(\S+)`)

// instance returns the name an integrator claims under, from its log.
func instance(t *testing.T, p *testbin.Process) string {
	t.Helper()
	var m []string
	waitFor(t, 10*time.Second, 10*time.Millisecond, "the integrator's start line", func() bool {
		m = instanceRE.FindStringSubmatch(p.Output())
		return m != nil
	})
	return m[1]
}

// maxClaim returns the highest claim id so far.
func maxClaim(db *sql.DB) int {
	return count(db, `SELECT coalesce(max(id), 0) FROM claims`)
}

// waitHealed waits until owner makes a claim after the claim numbered
// after, and returns when.
func waitHealed(t *testing.T, db *sql.DB, owner string, after int) time.Time {
	t.Helper()
	waitFor(t, time.Minute, 5*time.Millisecond, "a claim of the cut integrator", func() bool {
		return count(db, `SELECT count(*) FROM claims WHERE owner = $1 AND id > $2`, owner, after) > 0
	})
	return time.Now()
}

// waitFrozen waits until the proxy froze connections after the
// before-th (Frozen counts every connection frozen so far).
func waitFrozen(t *testing.T, p *faultproxy.Proxy, before int, what string) time.Time {
	t.Helper()
	waitFor(t, time.Minute, time.Millisecond, what, func() bool { return p.Frozen() > before })
	return time.Now()
}

// Scenario 10a: two integrators share the work, one of them (B) behind a
// proxy that freezes all its connections, sockets open, three times: in
// the middle of a claim; in the middle of a settle; and while it is idle,
// its LISTEN connection with it. The other (A) does not stall for
// DB_TIMEOUT: a claim or a settle holds no lock once the server ran it
// (scenario 14 has B frozen mid-claim at the default DB_TIMEOUT of 30s).
// B heals each time (its round
// trips give up after DB_TIMEOUT, its listener's ping too) and delivers
// again over new connections; after the last freeze, with A stopped, a
// new chunk reaches the CRM within a second, through B's new LISTEN
// (POLL_INTERVAL is an hour). Every record is delivered; a record sent
// twice carries its first key.
func TestPartitionedIntegrator(t *testing.T) {
	const chunk = 10000
	base := pgtest.DSN(t)
	db := openDB(t, base)
	p, proxied := pgtest.Proxy(t, base)
	m := newMoments()
	p.FreezeWhen(m.rule)
	path1, want := writeInput(t, 3*chunk, 101)
	input := readLines(t, path1)
	crm := newCRM(t, faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond}, 101)
	extra := []string{"DB_TIMEOUT=" + dbTimeout.String(), "POLL_INTERVAL=1h", "WORKERS=8"}

	start := time.Now()
	a := startIntegrator(t, integratorEnv(base, crm.URL(), extra...))
	waitListening(t, db, 1) // and the schema exists
	b := startIntegrator(t, integratorEnv(proxied+"&application_name=goquiz+integrator+B", crm.URL(), extra...))
	bOwner := instance(t, b)
	waitListening(t, db, 2)

	// 1. Mid-claim.
	parsed(t, runParser(t, base, writeLines(t, input[:chunk+1])), chunk, chunk, 0, 0)
	waitAccepted(t, crm, chunk/5)
	before := maxClaim(db)
	m.arm(true, false)
	frozen := waitFrozen(t, p, 0, "a claim of B frozen")
	p.FreezeWhen(m.rule)
	healClaim := waitHealed(t, db, bOwner, before).Sub(frozen)
	waitAllSent(t, db, chunk)
	stallClaim := crm.longestGap(frozen, time.Now())
	require.Less(t, stallClaim, dbTimeout+time.Second, "A waits for nothing B's lost claim held")

	// 2. Mid-settle.
	parsed(t, runParser(t, base, writeLines(t, append(input[:1:1], input[chunk+1:2*chunk+1]...))), chunk, chunk, 0, 0)
	waitAccepted(t, crm, chunk+chunk/5)
	before = maxClaim(db)
	wasFrozen := p.Frozen()
	m.arm(false, true)
	frozen = waitFrozen(t, p, wasFrozen, "a settle of B frozen")
	p.FreezeWhen(m.rule)
	healSettle := waitHealed(t, db, bOwner, before).Sub(frozen)
	waitAllSent(t, db, 2*chunk)
	stallSettle := crm.longestGap(frozen, time.Now())
	require.Less(t, stallSettle, dbTimeout+time.Second)

	// 3. Idle, the LISTEN connection with the others.
	require.Positive(t, p.Freeze())
	frozen = time.Now()
	waitFor(t, 10*dbTimeout, 5*time.Millisecond, "a new LISTEN of B", func() bool {
		return count(db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'goquiz integrator B'
			AND query ILIKE 'LISTEN%' AND backend_start > $1`, frozen) > 0
	})
	healListen := time.Since(frozen)
	stopIntegrator(t, a)
	time.Sleep(100 * time.Millisecond) // the reconnect's own wake-up passes

	// Our own listener takes the time of the chunk's commit.
	ln, err := postgres.Listen(base, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()
	commit := make(chan time.Time, 1)
	go func() { <-ln.Wake(); commit <- time.Now() }()
	parsed(t, runParser(t, base, writeLines(t, append(input[:1:1], input[2*chunk+1:]...))), chunk, chunk, 0, 0)
	waitAllSent(t, db, 3*chunk)
	took := time.Since(start)
	committed := <-commit
	first, ok := crm.firstAcceptedAfter(committed)
	require.True(t, ok)
	wake := first.Sub(committed)
	require.Less(t, wake, time.Second, "B is woken by the new chunk's notification")
	requireRunning(t, b)
	stopIntegrator(t, b)

	st := checkDelivered(t, crm, db, want)
	figures(t, "10a (one of 2 integrators cut mid-claim, mid-settle, idle LISTEN; DB_TIMEOUT=1s)", 3*chunk, took, st,
		fmt.Sprintf("longest_stall=%dms,%dms heal=%dms,%dms,%dms (claim, settle, listen) first_delivery_after_new_listen=%dms",
			stallClaim.Milliseconds(), stallSettle.Milliseconds(), healClaim.Milliseconds(), healSettle.Milliseconds(),
			healListen.Milliseconds(), wake.Milliseconds()))
}

// Scenario 10b: a parser behind the proxy, its connection frozen in the
// middle of copying a chunk, the integrator delivering all the while.
// When new connections pass, the parser stores the chunk again on a new
// one and finishes (the server holds the lost COPY's rows until goquiz
// ends the lost session). When they do not, it stops after CONNECT_TIMEOUT
// with one line saying what was committed, and a rerun straight to the
// server stores the rest without waiting on the lost session. Every row
// is stored once and delivered once.
func TestPartitionedParser(t *testing.T) {
	const n, chunk = 20000, 5000
	tests := []struct {
		name      string
		newConns  faultproxy.NewMode
		exit      int
		committed int // stored by the first run
	}{
		{"stored again", faultproxy.NewPass, 0, n},
		{"gives up, rerun", faultproxy.NewHang, 1, chunk},
	}
	var parts []string
	var total time.Duration
	var stats crmStats
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := pgtest.DSN(t)
			db := openDB(t, base)
			p, proxied := pgtest.Proxy(t, base)
			path, want := writeInput(t, n, 102)
			crm := newCRM(t, faults{Jitter: 2 * time.Millisecond}, 102)
			start := time.Now()
			ig := startIntegrator(t, integratorEnv(base, crm.URL(), "DB_TIMEOUT="+dbTimeout.String()))
			waitListening(t, db, 1)

			// Frozen in the middle of the second chunk's COPY.
			var frozen time.Time
			copies, reads := 0, 0
			p.FreezeWhen(func(_ int, dir faultproxy.Dir, data []byte) faultproxy.Action {
				if dir != faultproxy.ToServer {
					return faultproxy.Pass
				}
				if bytes.Contains(data, []byte("COPY customers")) {
					copies++
					return faultproxy.Pass
				}
				if copies == 2 {
					if reads++; reads == 3 {
						frozen = time.Now()
						p.SetNew(tt.newConns)
						return faultproxy.PassThenFreeze
					}
				}
				return faultproxy.Pass
			})
			res := runParser(t, proxied, path, fmt.Sprintf("CHUNK_SIZE=%d", chunk), "DB_TIMEOUT="+dbTimeout.String(), "CONNECT_TIMEOUT=3s")
			require.Positive(t, p.Frozen(), "the copy was frozen")
			sinceFreeze := time.Since(frozen)
			require.Equal(t, tt.exit, res.Code, res.Stderr)
			require.Contains(t, res.Stderr, "connection lost while storing a chunk")
			require.Equal(t, tt.committed, count(db, `SELECT count(*) FROM customers`), "stored by the first run")
			part := fmt.Sprintf("%s: exit=%d %dms after the freeze", tt.name, res.Code, sinceFreeze.Milliseconds())
			if tt.exit == 0 {
				parsed(t, res, n, n, 0, 0)
			} else {
				lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
				last := lines[len(lines)-1]
				require.Regexp(t, `^parser: .*: store records 5001 to 10000: write chunk: connection lost, stored again for 3s \(CONNECT_TIMEOUT\) without success: .*\(committed before the error: 5000 stored, 0 duplicates; rerun the same input to finish: what is stored is skipped\)$`, last)
				// DB_TIMEOUT to notice, CONNECT_TIMEOUT of attempts, the
				// last one's DB_TIMEOUT.
				require.Less(t, sinceFreeze, 3*time.Second+3*dbTimeout, "gives up after about CONNECT_TIMEOUT")
				rerun := time.Now()
				parsed(t, runParser(t, base, path, fmt.Sprintf("CHUNK_SIZE=%d", chunk), "DB_TIMEOUT="+dbTimeout.String()), n, n-chunk, chunk, 0)
				took := time.Since(rerun)
				require.Less(t, took, 5*dbTimeout, "the rerun does not wait on the lost session")
				part += fmt.Sprintf(", rerun stored %d in %dms", n-chunk, took.Milliseconds())
			}
			waitAllSent(t, db, n)
			total += time.Since(start)
			stopIntegrator(t, ig)
			st := checkDelivered(t, crm, db, want)
			stats.Requests += st.Requests
			stats.Retries += st.Retries
			stats.Duplicates += st.Duplicates
			parts = append(parts, part)
		})
	}
	figures(t, "10b (parser cut mid-COPY; DB_TIMEOUT=1s, CONNECT_TIMEOUT=3s)", 2*n, total, stats, "stored_twice=0 "+strings.Join(parts, "; "))
}

// readLines returns the lines of a file, its header first.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// writeLines writes lines to a new file and returns its path.
func writeLines(t *testing.T, lines []string) string {
	t.Helper()
	path := fmt.Sprintf("%s/part.csv", t.TempDir())
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return path
}
