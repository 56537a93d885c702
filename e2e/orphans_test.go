package e2e_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
)

// A claim that commits while its integrator sees it fail (the connection
// drops between the commit and the answer, as when PostgreSQL restarts at
// that instant) leaves a claim under the integrator's name that it does
// not know of. The records it lists must still be delivered, by that
// integrator, soon: not stay claimed for as long as it runs.
//
// The lost answer is a matter of microseconds; the test sets up the state
// it leaves directly, while the integrator is idle: the orphans are
// delivered at its next poll, or lease renewal, whichever sweeps first.
func TestOrphanLeasesAreDelivered(t *testing.T) {
	const n, orphans = 1000, 10
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	path, want := writeInput(t, n, 10)
	crm := newCRM(t, faults{}, 10)
	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), "LEASE=1s", "POLL_INTERVAL=1s"))
	instance := regexp.MustCompile(`msg="integrator starting" instance=(\S+)`)
	waitFor(t, 30*time.Second, 10*time.Millisecond, "the integrator's name in its log", func() bool {
		return instance.MatchString(p.Output())
	})
	owner := instance.FindStringSubmatch(p.Output())[1]
	parsed(t, runParser(t, dsn, path), n, n, 0, 0)
	waitAllSent(t, db, n)

	// What a claim with a lost answer leaves: a claim under the
	// integrator's name, here with its lease run out long ago, listing
	// records the integrator never heard of.
	var orphanIDs []int64
	for id := int64(n + 1); id <= n+orphans; id++ {
		c := common.Customer{ID: id, FirstName: "Orphan", LastName: fmt.Sprint(id), Email: fmt.Sprintf("o%d@example.com", id), Phone: "555"}
		want[id] = c
		orphanIDs = append(orphanIDs, id)
		_, err := db.Exec(`INSERT INTO customers (id, first_name, last_name, email, phone, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, now() - interval '1 minute')`,
			c.ID, c.FirstName, c.LastName, c.Email, c.Phone)
		require.NoError(t, err)
	}
	_, err := db.Exec(`INSERT INTO claims (owner, lease_until, ids) VALUES ($1, now() - interval '1 minute', $2)`,
		owner, pq.Int64Array(orphanIDs))
	require.NoError(t, err)
	waitFor(t, 10*time.Second, 100*time.Millisecond, fmt.Sprintf("the %d orphans sent (ten polls)", orphans), func() bool {
		return sentCount(db) == n+orphans
	})
	stopIntegrator(t, p)
	checkOnce(t, crm, db, want)
}
