package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/postgres"
)

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
	Holder   *string  // owner of the claim listing the record, if any
	LeaseMs  *float64 // what is left of that claim's lease
	LastErr  *string
	DueInMs  float64
}

func get(t *testing.T, db *postgres.DB, id int64) row {
	t.Helper()
	var r row
	require.NoError(t, db.SQL().QueryRow(`SELECT state, attempts, k.owner,
		extract(epoch FROM k.lease_until - now()) * 1000, last_error,
		extract(epoch FROM next_attempt_at - now()) * 1000
		FROM customers c LEFT JOIN claims k ON c.id = ANY(k.ids)
		WHERE c.id = $1`, id).
		Scan(&r.State, &r.Attempts, &r.Holder, &r.LeaseMs, &r.LastErr, &r.DueInMs))
	return r
}

func ids(ds []common.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestClaimConcurrentClaimersNeverShare(t *testing.T) {
	db := open(t)
	const n = 2000
	load(t, db, n)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := db.Queue(owner, time.Minute)
			for {
				batch, err := q.Claim(ctxT(t), 37)
				if !assert.NoError(t, err) || len(batch) == 0 {
					return
				}
				mu.Lock()
				for _, d := range batch {
					if prev, dup := seen[d.ID]; dup {
						t.Errorf("record %d claimed by %s and %s", d.ID, prev, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, seen, n)
}

func TestClaimReturnsCustomerAndHoldsIt(t *testing.T) {
	db := open(t)
	c := common.Customer{ID: 7, FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Phone: "1 2 3"}
	_, err := db.Writer().WriteChunk(ctxT(t), []common.Customer{c})
	require.NoError(t, err)
	q := db.Queue("a", time.Minute)
	got, err := q.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Equal(t, []common.Delivery{{Customer: c}}, got)
	r := get(t, db, 7)
	require.NotNil(t, r.Holder)
	assert.Equal(t, "a", *r.Holder)
	require.NotNil(t, r.LeaseMs)
	assert.InDelta(t, 60_000, *r.LeaseMs, 5_000)
	assert.Equal(t, "pending", r.State, "a claim does not write the record")

	// Neither the holder nor anyone else claims it again while leased.
	again, err := q.Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Empty(t, again)
	other, err := db.Queue("b", time.Minute).Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Empty(t, other)
}

func TestLapsedLeaseIsTakenOver(t *testing.T) {
	db := open(t)
	load(t, db, 3)
	a := db.Queue("a", 300*time.Millisecond)
	b := db.Queue("b", time.Minute)
	claimed, err := a.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	none, err := b.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Empty(t, none)

	wait, ok, err := b.NextDue(ctxT(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, 300*time.Millisecond, wait, float64(200*time.Millisecond))

	time.Sleep(400 * time.Millisecond)
	taken, err := b.Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 2, 3}, ids(taken))

	// a comes back late: its failure no longer touches b's claim, but its
	// success counts, because the CRM has the record.
	require.NoError(t, a.Settle(ctxT(t), []common.Outcome{
		{ID: 1, Sent: true},
		{ID: 2, RetryIn: time.Hour, Err: "status 500"},
	}))
	assert.Equal(t, "sent", get(t, db, 1).State)
	r2 := get(t, db, 2)
	assert.Equal(t, "pending", r2.State)
	assert.Equal(t, 0, r2.Attempts)
	require.NotNil(t, r2.Holder)
	assert.Equal(t, "b", *r2.Holder)
}

func TestExtendOnlyWhatIsStillHeld(t *testing.T) {
	db := open(t)
	load(t, db, 2)
	a := db.Queue("a", 200*time.Millisecond)
	_, err := a.Claim(ctxT(t), 10)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	// b takes over a's lapsed claim as a whole: the record it picks is
	// b's, the other is free again.
	b := db.Queue("b", time.Hour)
	taken, err := b.Claim(ctxT(t), 1)
	require.NoError(t, err)
	require.Len(t, taken, 1)
	require.NoError(t, a.Extend(ctxT(t), []int64{1, 2}))
	assert.Equal(t, "b", *get(t, db, taken[0].ID).Holder, "extending does not steal back")
	assert.Nil(t, get(t, db, 3-taken[0].ID).Holder, "nor revive a claim taken over")
	rest, err := db.Queue("c", time.Hour).Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{3 - taken[0].ID}, ids(rest))
}

func TestExtendKeepsTheLease(t *testing.T) {
	db := open(t)
	load(t, db, 2)
	a := db.Queue("a", 400*time.Millisecond)
	claimed, err := a.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	for range 3 {
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, a.Extend(ctxT(t), ids(claimed)))
	}
	taken, err := db.Queue("b", time.Minute).Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Empty(t, taken, "a lease kept alive by Extend must not be taken over")
}

func TestSettle(t *testing.T) {
	db := open(t)
	load(t, db, 3)
	q := db.Queue("a", time.Minute)
	_, err := q.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.NoError(t, q.Settle(ctxT(t), []common.Outcome{
		{ID: 1, Sent: true},
		{ID: 2, RetryIn: 2 * time.Second, Err: "status 503"},
	}))
	assert.Equal(t, "a", *get(t, db, 3).Holder, "the claim stays while a record of it is unsettled")
	// A failed record waits for its claim to end, then for its retry.
	stillHeld, err := db.Queue("b", time.Minute).Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Empty(t, stillHeld)
	require.NoError(t, q.Settle(ctxT(t), []common.Outcome{{ID: 3, Sent: true}}))
	assert.Equal(t, row{State: "sent"}, withoutDue(get(t, db, 1)))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM claims`), "a claim whose records are all settled is deleted")
	r2 := get(t, db, 2)
	assert.Equal(t, "pending", r2.State)
	assert.Equal(t, 1, r2.Attempts)
	assert.Nil(t, r2.Holder)
	require.NotNil(t, r2.LastErr)
	assert.Equal(t, "status 503", *r2.LastErr)
	assert.InDelta(t, 2000, r2.DueInMs, 500)

	// Not due yet: nothing to claim; NextDue says when.
	none, err := q.Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.Empty(t, none)
	wait, ok, err := q.NextDue(ctxT(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, 2*time.Second, wait, float64(500*time.Millisecond))

	// The retry carries its attempt count.
	time.Sleep(2100 * time.Millisecond)
	again, err := q.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, common.Delivery{Customer: cust(2, "x"), Attempts: 1}, again[0])

	// Settling twice, or settling a sent record, changes nothing.
	require.NoError(t, q.Settle(ctxT(t), []common.Outcome{{ID: 1, RetryIn: time.Hour, Err: "late"}}))
	assert.Equal(t, "sent", get(t, db, 1).State)
}

func withoutDue(r row) row { r.DueInMs = 0; return r }

func count(t *testing.T, db *postgres.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL().QueryRow(query).Scan(&n))
	return n
}

func TestReleaseMakesRecordsDueAtOnce(t *testing.T) {
	db := open(t)
	load(t, db, 4)
	a := db.Queue("a", time.Hour)
	claimed, err := a.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 4)
	require.NoError(t, a.Release(ctxT(t), []int64{3, 4}))
	b := db.Queue("b", time.Hour)
	got, err := b.Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 2}, ids(got))
	// Releasing touches only what a holds.
	require.NoError(t, a.Release(ctxT(t), nil))
	assert.Equal(t, "b", *get(t, db, 1).Holder)
	got, err = b.Claim(ctxT(t), 10)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{3, 4}, ids(got))
}

func TestNextDueEmpty(t *testing.T) {
	db := open(t)
	_, ok, err := db.Queue("a", time.Minute).NextDue(ctxT(t))
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestReleasedRecordsDueEarlierAreClaimedWithinAFewClaims(t *testing.T) {
	db := open(t)
	// Ten records due ten minutes ago, then 3000 due a minute ago.
	_, err := db.SQL().Exec(`INSERT INTO customers (id, first_name, last_name, email, phone, next_attempt_at)
		SELECT i, 'f', 'l', 'e', 'p', CASE WHEN i <= 10 THEN now() - interval '10 minutes' ELSE now() - interval '1 minute' END
		FROM generate_series(1, 3000) i`)
	require.NoError(t, err)
	b := db.Queue("b", time.Hour)
	early, err := b.Claim(ctxT(t), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ids(early), "oldest due first")

	a := db.Queue("a", time.Hour)
	_, err = a.Claim(ctxT(t), 100)
	require.NoError(t, err)
	// b gives its records back, due before where a's claims now start.
	require.NoError(t, b.Release(ctxT(t), nil))
	found := map[int64]bool{}
	for range 10 {
		got, err := a.Claim(ctxT(t), 100)
		require.NoError(t, err)
		for _, id := range ids(got) {
			found[id] = true
		}
	}
	for id := int64(1); id <= 10; id++ {
		assert.True(t, found[id], "record %d, released, claimed again within ten claims", id)
	}
}
