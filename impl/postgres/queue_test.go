package postgres_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/postgres"
	"goquiz/impl/queuetest"
)

// TestQueueContract runs the Queue contract, which the in-memory store the
// Deliverer's tests use runs too, against PostgreSQL.
func TestQueueContract(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Store { return contractStore{open(t)} })
}

// contractStore adapts a database to the contract suite.
type contractStore struct{ db *postgres.DB }

func (s contractStore) Queue(owner string) common.Queue { return s.db.Queue(owner) }

func (s contractStore) Add(t *testing.T, due time.Time, cs ...common.Customer) {
	for _, c := range cs {
		_, err := s.db.SQL().Exec(`INSERT INTO customers (id, first_name, last_name, email, phone, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.FirstName, c.LastName, c.Email, c.Phone, due)
		require.NoError(t, err)
	}
}

func (s contractStore) Change(t *testing.T, cs ...common.Customer) {
	w := s.db.SyncWriter(common.SyncUpsert)
	defer func() { require.NoError(t, w.Close(ctxT(t))) }()
	_, err := w.WriteChunk(ctxT(t), cs)
	require.NoError(t, err)
}

func (s contractStore) AddClaim(t *testing.T, owner string, expires time.Time, ids []int64) {
	_, err := s.db.SQL().Exec(`INSERT INTO claims (owner, lease_until, ids) VALUES ($1, $2, $3)`, owner, expires, pq.Int64Array(ids))
	require.NoError(t, err)
}

func (s contractStore) Record(t *testing.T, id int64) queuetest.Record {
	r := get(t, s.db, id)
	out := queuetest.Record{State: common.State(r.State), Attempts: r.Attempts, Version: r.Version,
		DueIn: time.Duration(r.DueInMs * float64(time.Millisecond))}
	if r.Holder != nil {
		out.Holder = *r.Holder
	}
	if r.LastErr != nil {
		out.LastError = *r.LastErr
	}
	return out
}

func (s contractStore) Claims(t *testing.T) int { return count(t, s.db, `SELECT count(*) FROM claims`) }

// load stores customers 1..n.
func load(t *testing.T, db *postgres.DB, n int) {
	t.Helper()
	chunk := make([]common.Customer, n)
	for i := range chunk {
		chunk[i] = cust(int64(i+1), "x")
	}
	_, err := db.Writer().WriteChunk(ctxT(t), chunk)
	require.NoError(t, err)
}

type row struct {
	State    string
	Attempts int
	Version  int
	Holder   *string  // owner of the claim listing the record, if any
	LeaseMs  *float64 // what is left of that claim's lease
	LastErr  *string
	DueInMs  float64
}

func get(t *testing.T, db *postgres.DB, id int64) row {
	t.Helper()
	var r row
	err := db.SQL().QueryRow(`SELECT state, attempts, version, k.owner,
		extract(epoch FROM k.lease_until - now()) * 1000, last_error,
		extract(epoch FROM next_attempt_at - now()) * 1000
		FROM customers c LEFT JOIN claims k ON c.id = ANY(k.ids)
		WHERE c.id = $1`, id).
		Scan(&r.State, &r.Attempts, &r.Version, &r.Holder, &r.LeaseMs, &r.LastErr, &r.DueInMs)
	if err == sql.ErrNoRows {
		t.Fatalf("no record %d", id)
	}
	require.NoError(t, err)
	return r
}

func count(t *testing.T, db *postgres.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL().QueryRow(query).Scan(&n))
	return n
}

// An integrator of an older version claims under the claim lock alone,
// across round trips, without locking the records it picks: a claim
// waits for it, so that the two never take the same records while both
// run (a rolling upgrade).
func TestClaimWaitsForAnOlderVersionsClaim(t *testing.T) {
	db := open(t)
	load(t, db, 10)
	old, err := db.SQL().BeginTx(ctxT(t), nil)
	require.NoError(t, err)
	defer old.Rollback()
	_, err = old.Exec(`SELECT pg_advisory_xact_lock(x'676f71756979'::bigint)`)
	require.NoError(t, err)
	_, err = old.Exec(`INSERT INTO claims (owner, lease_until, ids) VALUES ('old', now() + interval '1 minute', '{1,2,3,4,5}')`)
	require.NoError(t, err)

	done := make(chan common.Claim, 1)
	go func() {
		c, err := db.Queue("new").Claim(ctxT(t), 10, time.Minute)
		assert.NoError(t, err)
		done <- c
	}()
	select {
	case <-done:
		t.Fatal("claimed while an older version's claim held the lock")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, old.Commit())
	select {
	case c := <-done:
		assert.ElementsMatch(t, []int64{6, 7, 8, 9, 10}, queuetest.IDs(c))
	case <-time.After(10 * time.Second):
		t.Fatal("the claim did not go on once the older one committed")
	}
}
