package e2e_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
)

// writeWideInput writes n customers (ids 1 to n) whose first names are
// width bytes long, and returns the file's path and the customers.
func writeWideInput(t *testing.T, n, width int) (string, map[int64]common.Customer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wide.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	_, err = w.WriteString("id,first_name,last_name,email,phone\n")
	require.NoError(t, err)
	want := make(map[int64]common.Customer, n)
	for id := int64(1); id <= int64(n); id++ {
		c := common.Customer{ID: id, FirstName: fmt.Sprintf("%d%s", id, strings.Repeat("x", width)),
			LastName: "Wide", Email: fmt.Sprintf("wide%d@example.com", id), Phone: "+15550000000"}
		_, err = fmt.Fprintf(w, "%d,%s,%s,%s,%s\n", c.ID, c.FirstName, c.LastName, c.Email, c.Phone)
		require.NoError(t, err)
		want[id] = c
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path, want
}

// Scenario 23: an integrator (B) frozen as its claim's answer comes back,
// when that answer is larger than the socket buffers between the server
// and B hold (wide records: 32 of them take 1.6 MB). The server sends
// the rows of a statement's answer before it commits; once the buffers
// are full, its session waits to write the rest for as long as the
// socket stays open, with the claim uncommitted and the records it
// picked locked: every other claim passes over them (SKIP LOCKED), so
// the other integrator (A) never sends them, and a load changing them
// waits. The records must reach the CRM about DB_TIMEOUT after the
// freeze, whatever the size of the claim's answer.
func TestFrozenLargeClaimAnswerHoldsNoRecords(t *testing.T) {
	const n, width = 96, 400000
	base := pgtest.DSN(t)
	db := openDB(t, base)
	p, proxied := pgtest.Proxy(t, base)
	m := newMoments()
	path, want := writeWideInput(t, n, width)
	crm := newCRM(t, faults{Latency: 100 * time.Millisecond}, 23)
	extra := []string{"WORKERS=16", "LEASE=2s", fmt.Sprintf("DB_TIMEOUT=%s", dbTimeout)}

	// B alone: its first claim, as it starts, is frozen as its answer
	// (the first 32 records, 12.8 MB) comes back.
	parsed(t, runParser(t, base, path), n, n, 0, 0)
	m.arm(true, false)
	p.FreezeWhen(m.rule)
	b := startIntegrator(t, integratorEnv(proxied+"&application_name=goquiz+integrator+B", crm.URL(), extra...))
	frozen := waitFrozen(t, p, 0, "a claim of B frozen")
	waitFor(t, 10*time.Second, 10*time.Millisecond, "B's session waiting to write its claim's answer", func() bool {
		return count(db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'goquiz integrator B'
			AND wait_event = 'ClientWrite' AND query LIKE '%goquiz_claim_versions%'`) > 0
	})
	a := startIntegrator(t, integratorEnv(base, crm.URL(), extra...))

	// What B's frozen claim picked must not stay locked for longer than
	// about DB_TIMEOUT: A sends every record (B sends the others it
	// claims on new connections).
	waitFor(t, 15*dbTimeout, 50*time.Millisecond, "every customer sent while B's claim answer is frozen", func() bool {
		return sentCount(db) == n
	})
	took := time.Since(frozen)
	requireRunning(t, a)
	stopIntegrator(t, a)
	b.Kill()
	st := checkDelivered(t, crm, db, want)
	figures(t, "23 (one of 2 integrators frozen as a large claim answer comes back; DB_TIMEOUT=1s)", n, took, st,
		fmt.Sprintf("all_sent=%dms after the freeze", took.Milliseconds()))
}
