package queuetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func testSettle(t *testing.T, s Store) {
	q, c := addAndClaim(t, s, 4, time.Minute)
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{
		{ID: 1, Claim: c.ID, Sent: true},
		{ID: 2, Claim: c.ID, RetryIn: 2 * time.Second, Err: "status 503"},
		{ID: 3, Claim: c.ID, Err: "status 400", GiveUp: true},
	}, nil))
	r1 := s.Record(t, 1)
	assert.Equal(t, common.StateSent, r1.State)
	r2 := s.Record(t, 2)
	assert.Equal(t, common.StatePending, r2.State)
	assert.Equal(t, 1, r2.Attempts)
	assert.Equal(t, "status 503", r2.LastError)
	assert.InDelta(t, 2*time.Second, r2.DueIn, float64(500*time.Millisecond))
	r3 := s.Record(t, 3)
	assert.Equal(t, common.StateFailed, r3.State, "given up")
	assert.Equal(t, 1, r3.Attempts)
	assert.Equal(t, "status 400", r3.LastError)
	assert.Equal(t, "a", s.Record(t, 4).Holder, "the claim stays until it is finished")

	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 4, Claim: c.ID, Sent: true}}, []int64{c.ID}))
	assert.Zero(t, s.Claims(t), "a finished claim ends")
	assert.Equal(t, common.StateSent, s.Record(t, 4).State)
	assert.Empty(t, s.Record(t, 2).Holder)

	// Not due yet: nothing to claim. Then it comes back with its attempts.
	none, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, none.Deliveries)
	time.Sleep(2100 * time.Millisecond)
	again, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []common.Delivery{{Customer: customer(2), Attempts: 1}}, again.Deliveries, "a failed record is not given up")
}

func testRetriesWaitForTheirClaim(t *testing.T, s Store) {
	q, c := addAndClaim(t, s, 2, time.Minute)
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 1, Claim: c.ID, Err: "status 500"}}, nil))
	require.Less(t, s.Record(t, 1).DueIn, time.Duration(0), "due again at once")
	for _, owner := range []string{"a", "b"} {
		got, err := s.Queue(owner).Claim(ctx(t), 10, time.Minute)
		require.NoError(t, err)
		assert.Empty(t, got.Deliveries, "a retry is not claimed while its claim lasts (%s)", owner)
	}
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 2, Claim: c.ID, Sent: true}}, []int64{c.ID}))
	got, err := s.Queue("b").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, IDs(got), "claimable once its claim ended")
}

func testSettleIdempotent(t *testing.T, s Store) {
	q, c := addAndClaim(t, s, 2, time.Minute)
	done := []common.Outcome{{ID: 1, Claim: c.ID, Sent: true}, {ID: 2, Claim: c.ID, Err: "x", GiveUp: true}}
	require.NoError(t, q.Settle(ctx(t), done, []int64{c.ID}))
	// Written again (a retried write whose first answer was lost), or
	// late outcomes of records settled already: nothing changes.
	require.NoError(t, q.Settle(ctx(t), done, []int64{c.ID}))
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 1, Claim: c.ID, RetryIn: time.Hour, Err: "late"}}, nil))
	assert.Equal(t, Record{State: common.StateSent, Version: 1}, withoutDue(s.Record(t, 1)))
	r2 := s.Record(t, 2)
	assert.Equal(t, common.StateFailed, r2.State)
	assert.Equal(t, 1, r2.Attempts)
}

func testLateSettle(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 3)...)
	a, b := s.Queue("a"), s.Queue("b")
	old, err := a.Claim(ctx(t), 10, 200*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	taken, err := b.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, taken.Deliveries, 3)

	// a comes back late: its failure no longer touches b's record, its
	// success counts (the CRM has the record), and ending its claim does
	// not end b's.
	require.NoError(t, a.Settle(ctx(t), []common.Outcome{
		{ID: 1, Claim: old.ID, Sent: true},
		{ID: 2, Claim: old.ID, RetryIn: time.Hour, Err: "status 500"},
	}, []int64{old.ID, taken.ID}))
	assert.Equal(t, common.StateSent, s.Record(t, 1).State)
	r2 := s.Record(t, 2)
	assert.Equal(t, common.StatePending, r2.State)
	assert.Zero(t, r2.Attempts)
	assert.Equal(t, "b", r2.Holder)
}

// withoutDue drops the due time, which moves with the clock.
func withoutDue(r Record) Record { r.DueIn = 0; return r }
