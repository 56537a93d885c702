package queuetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func testClaimHolds(t *testing.T, s Store) {
	c := common.Customer{ID: 7, FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Phone: "1 2 3", Version: 1}
	s.Add(t, time.Now(), c)
	q := s.Queue("a")
	before := time.Now()
	got, err := q.Claim(ctx(t), 10, time.Minute)
	after := time.Now()
	require.NoError(t, err)
	assert.NotZero(t, got.ID)
	require.Equal(t, []common.ClaimedRecord{{Customer: c}}, got.Records)
	assert.False(t, got.Expires.Before(before.Add(time.Minute)), "the lease is counted from before the claim was sent")
	assert.False(t, got.Expires.After(after.Add(time.Minute)), "and not from later than its answer")
	r := s.Record(t, 7)
	assert.Equal(t, "a", r.Holder)
	assert.Equal(t, common.StatePending, r.State, "a claim does not change the record")

	// Neither the holder nor anyone else claims it again while it is held.
	again, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, again.Records)
	other, err := s.Queue("b").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, other.Records)
}

func testClaimOldestFirst(t *testing.T, s Store) {
	now := time.Now()
	s.Add(t, now.Add(-time.Minute), customers(1, 5)...)
	s.Add(t, now.Add(-10*time.Minute), customers(6, 8)...)
	s.Add(t, now.Add(time.Hour), customers(9, 9)...) // not due
	q := s.Queue("a")
	first, err := q.Claim(ctx(t), 3, time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{6, 7, 8}, IDs(first))
	rest, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 2, 3, 4, 5}, IDs(rest))
	assert.NotEqual(t, first.ID, rest.ID)
}

func testClaimNothingDue(t *testing.T, s Store) {
	got, err := s.Queue("a").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Zero(t, got.ID)
	assert.Empty(t, got.Records)
	assert.Zero(t, s.Claims(t), "an empty claim leaves nothing")
}

func testConcurrentClaimers(t *testing.T, s Store) {
	const n = 2000
	s.Add(t, time.Now(), customers(1, n)...)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b", "c"} {
		wg.Go(func() {
			q := s.Queue(owner)
			for {
				c, err := q.Claim(ctx(t), 37, time.Minute)
				if !assert.NoError(t, err) || len(c.Records) == 0 {
					return
				}
				mu.Lock()
				for _, d := range c.Records {
					if prev, dup := seen[d.ID]; dup {
						t.Errorf("record %d claimed by %s and %s", d.ID, prev, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, n)
}

func testTakeover(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 3)...)
	a, b := s.Queue("a"), s.Queue("b")
	held, err := a.Claim(ctx(t), 10, 300*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, held.Records, 3)
	none, err := b.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, none.Records, "not before the lease runs out")

	time.Sleep(400 * time.Millisecond)
	// A's own lapsed claim is not taken back by a: it is still sending it.
	mine, err := a.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, mine.Records, "an integrator does not take over its own claim")
	taken, err := b.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 2, 3}, IDs(taken))
	assert.Equal(t, "b", s.Record(t, 1).Holder)
}
