package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
)

// maxPeerStall is the longest an integrator may go without a delivery
// while another is frozen in the middle of a claim (issue 24's goal).
const maxPeerStall = 2 * time.Second

// Scenario 14: two integrators share the work at the default DB_TIMEOUT
// (30s). One of them (B) is frozen in the middle of a claim: a proxy
// freezes all its database connections, sockets open, as its claim goes
// out; the server makes the claim and commits it, and the answer never
// comes back, so B waits for it for DB_TIMEOUT. The other (A) keeps
// delivering: its longest gap between two deliveries stays under
// maxPeerStall, since B's claim holds no lock once the server ran it
// (before, it held the claim lock until the server ended B's session,
// DB_TIMEOUT later). A takes over B's lost claim when its lease runs out.
// B heals after DB_TIMEOUT and records what it delivered meanwhile. Every
// customer reaches the CRM; one sent twice (B delivered it, and could not
// renew its lease before it ran out) carries its first key.
func TestFrozenPeerCostsNoStall(t *testing.T) {
	const n = 24000
	base := pgtest.DSN(t)
	db := openDB(t, base)
	p, proxied := pgtest.Proxy(t, base)
	m := newMoments()
	p.FreezeWhen(m.rule)
	path, want := writeInput(t, n, 14)
	crm := newCRM(t, faults{Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}, 14)
	// DB_TIMEOUT is left at its default. The lease is short so that A
	// takes B's claims over while it still has other records to send:
	// the gap measured is never A's idle wait for them.
	extra := []string{"WORKERS=8", "LEASE=4s"}

	start := time.Now()
	a := startIntegrator(t, integratorEnv(base, crm.URL(), extra...))
	waitListening(t, db, 1)
	b := startIntegrator(t, integratorEnv(proxied+"&application_name=goquiz+integrator+B", crm.URL(), extra...))
	bOwner := instance(t, b)
	waitListening(t, db, 2)
	parsed(t, runParser(t, base, path), n, n, 0, 0)
	waitAccepted(t, crm, n/8)
	require.Positive(t, count(db, `SELECT count(*) FROM claims WHERE owner = $1`, bOwner), "B takes part")

	m.arm(true, false)
	frozen := waitFrozen(t, p, 0, "a claim of B frozen")
	waitAccepted(t, crm, n)
	delivered := time.Since(frozen)
	stall := crm.longestGap(frozen, frozen.Add(delivered))
	require.Less(t, stall, maxPeerStall, "A's longest gap between deliveries while B is frozen mid-claim")

	// B's round trips on its frozen connections give up after DB_TIMEOUT;
	// it records what it delivered meanwhile, and goes on.
	waitAllSent(t, db, n)
	took := time.Since(start)
	healed := time.Since(frozen)
	requireRunning(t, a)
	requireRunning(t, b)
	stopIntegrator(t, a)
	b.Kill() // its stop would wait for its frozen round trips
	st := checkDelivered(t, crm, db, want)
	figures(t, "14 (one of 2 integrators frozen mid-claim; DB_TIMEOUT=30s default)", n, took, st,
		fmt.Sprintf("longest_stall=%dms all_delivered=%dms all_recorded=%dms after the freeze",
			stall.Milliseconds(), delivered.Milliseconds(), healed.Milliseconds()))
}
