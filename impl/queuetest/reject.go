package queuetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// testRejected: a record the CRM refused for good becomes rejected at
// once, with its reason, whatever its attempts; it is never claimed again
// nor counted as due, and writing the outcome again changes nothing.
func testRejected(t *testing.T, s Store) {
	q, c := addAndClaim(t, s, 3, time.Minute)
	reason := `status 400: {"status":"error","message":"Email address x is invalid","category":"VALIDATION_ERROR"}`
	done := []common.Outcome{
		{ID: 1, Claim: c.ID, Err: reason, Reject: true, Status: 400},
		{ID: 2, Claim: c.ID, Err: "status 409: exists", Reject: true, Status: 409, GiveUp: true},
		{ID: 3, Claim: c.ID, Sent: true},
	}
	require.NoError(t, q.Settle(ctx(t), done, []int64{c.ID}))
	r1 := s.Record(t, 1)
	assert.Equal(t, common.StateRejected, r1.State)
	assert.Equal(t, 1, r1.Attempts)
	assert.Equal(t, reason, r1.LastError)
	assert.Empty(t, r1.Holder)
	assert.Equal(t, common.StateRejected, s.Record(t, 2).State, "rejected wins over given up")
	assert.Equal(t, common.StateSent, s.Record(t, 3).State)
	assert.Zero(t, s.Claims(t))

	// Written again (an answer lost), or a late failure: nothing changes.
	require.NoError(t, q.Settle(ctx(t), done, []int64{c.ID}))
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 1, Claim: c.ID, RetryIn: time.Millisecond, Err: "late"}}, nil))
	assert.Equal(t, Record{State: common.StateRejected, Attempts: 1, Version: 1, LastError: reason}, withoutDue(s.Record(t, 1)))

	// Never due, never claimed: by this integrator or another.
	_, due, err := q.NextDue(ctx(t))
	require.NoError(t, err)
	assert.False(t, due, "no record left to deliver")
	for _, owner := range []string{"a", "b"} {
		got, err := s.Queue(owner).Claim(ctx(t), 10, time.Minute)
		require.NoError(t, err)
		assert.Empty(t, got.Deliveries, "rejected records are not claimed (%s)", owner)
	}
}

// testLateReject: an integrator whose claim was taken over cannot reject
// the record another integrator now holds.
func testLateReject(t *testing.T, s Store) {
	s.Add(t, time.Now(), customer(1))
	a, b := s.Queue("a"), s.Queue("b")
	old, err := a.Claim(ctx(t), 10, 200*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	taken, err := b.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, IDs(taken))
	require.NoError(t, a.Settle(ctx(t), []common.Outcome{{ID: 1, Claim: old.ID, Err: "status 400", Reject: true, Status: 400}}, []int64{old.ID}))
	r := s.Record(t, 1)
	assert.Equal(t, common.StatePending, r.State)
	assert.Zero(t, r.Attempts)
	assert.Equal(t, "b", r.Holder)
}
