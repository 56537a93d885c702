package queuetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// changed returns customer(id) with another email, as version.
func changed(id int64, email string, version int) common.Customer {
	c := customer(id)
	c.Email, c.Version = email, version
	return c
}

func testVersionReplaced(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 2)...)
	s.Change(t, changed(1, "v2@example.com", 0), customer(2))
	s.Change(t, changed(1, "v3@example.com", 0))
	r := s.Record(t, 1)
	assert.Equal(t, 3, r.Version)
	assert.Equal(t, common.StatePending, r.State)
	assert.Equal(t, 1, s.Record(t, 2).Version, "the same values are no new version")

	q := s.Queue("a")
	c, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []common.ClaimedRecord{
		{Customer: changed(1, "v3@example.com", 3)},
		{Customer: customer(2)},
	}, c.Records, "only the newest version of a record goes, once")
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{
		{ID: 1, Version: 3, Claim: c.ID, Sent: true},
		{ID: 2, Version: 1, Claim: c.ID, Sent: true},
	}, []int64{c.ID}))
	assert.Equal(t, common.StateSent, s.Record(t, 1).State)
	none, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, none.Records)
}

func testVersionInFlight(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 1)...)
	a := s.Queue("a")
	old, err := a.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []common.ClaimedRecord{{Customer: customer(1)}}, old.Records)

	// A new version arrives while version 1 is in flight: no one sends it
	// before version 1 is finished.
	s.Change(t, changed(1, "v2@example.com", 0))
	for _, owner := range []string{"a", "b"} {
		got, err := s.Queue(owner).Claim(ctx(t), 10, time.Minute)
		require.NoError(t, err)
		assert.Empty(t, got.Records, "version 2 waits for version 1's claim (%s)", owner)
	}
	assert.Equal(t, "a", s.Record(t, 1).Holder)

	// Version 1 was accepted: recorded, and the record stays pending for
	// version 2.
	require.NoError(t, a.Settle(ctx(t), []common.Outcome{{ID: 1, Version: 1, Claim: old.ID, Sent: true}}, []int64{old.ID}))
	r := s.Record(t, 1)
	assert.Equal(t, common.StatePending, r.State, "an older version's success does not make the newer one sent")
	assert.Equal(t, 2, r.Version)
	got, err := s.Queue("b").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []common.ClaimedRecord{{Customer: changed(1, "v2@example.com", 2)}}, got.Records, "then the newer one is sent")
	require.NoError(t, s.Queue("b").Settle(ctx(t), []common.Outcome{{ID: 1, Version: 2, Claim: got.ID, Sent: true}}, []int64{got.ID}))
	assert.Equal(t, common.StateSent, s.Record(t, 1).State)
}

// testVersionClaimedReplaced: a store tells which claimed records have a
// newer version stored since (common.VersionChecker), so that an
// integrator gives back unsent the ones it has not started sending.
func testVersionClaimedReplaced(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 3)...)
	q := s.Queue("a")
	vc, ok := q.(common.VersionChecker)
	require.True(t, ok, "the queue is a common.VersionChecker")
	c, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, c.Records, 3)
	none, err := vc.Replaced(ctx(t), []int64{1, 2, 3}, []int{1, 1, 1})
	require.NoError(t, err)
	assert.Empty(t, none)

	s.Change(t, changed(2, "v2@example.com", 0), customer(3))
	got, err := vc.Replaced(ctx(t), []int64{1, 2, 3, 4}, []int{1, 1, 1, 1})
	require.NoError(t, err)
	assert.Equal(t, []int64{2}, got, "only the record stored again with other values (4 is not stored)")
	got, err = vc.Replaced(ctx(t), []int64{2}, []int{2})
	require.NoError(t, err)
	assert.Empty(t, got, "version 2 is the newest")
}

func testVersionInFlightFails(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 1)...)
	a := s.Queue("a")
	old, err := a.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	s.Change(t, changed(1, "v2@example.com", 0))
	// Version 1 fails and would wait an hour, or is given up: neither
	// touches version 2, due at once with attempts of its own.
	require.NoError(t, a.Settle(ctx(t), []common.Outcome{{ID: 1, Version: 1, Claim: old.ID, RetryIn: time.Hour, Err: "status 500", GiveUp: true}}, []int64{old.ID}))
	r := s.Record(t, 1)
	assert.Equal(t, common.StatePending, r.State)
	assert.Zero(t, r.Attempts)
	assert.Less(t, r.DueIn, time.Duration(0))
	got, err := a.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []common.ClaimedRecord{{Customer: changed(1, "v2@example.com", 2)}}, got.Records)
}

func testVersionOfSent(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 2)...)
	q := s.Queue("a")
	c, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{
		{ID: 1, Version: 1, Claim: c.ID, Sent: true, RetryIn: time.Hour},
		{ID: 2, Version: 1, Claim: c.ID, Err: "status 400", GiveUp: true},
	}, []int64{c.ID}))

	// The same values again: nothing to send.
	s.Change(t, customers(1, 2)...)
	assert.Equal(t, Record{State: common.StateSent, Version: 1}, withoutDue(s.Record(t, 1)))
	none, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, none.Records, "unchanged records are never sent again")

	// New values: a sent record and a failed one are pending again, due
	// now, their attempts starting over.
	s.Change(t, changed(1, "v2@example.com", 0), changed(2, "v2@example.com", 0))
	for _, id := range []int64{1, 2} {
		r := s.Record(t, id)
		assert.Equal(t, common.StatePending, r.State)
		assert.Equal(t, 2, r.Version)
		assert.Zero(t, r.Attempts)
	}
	got, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []common.ClaimedRecord{
		{Customer: changed(1, "v2@example.com", 2)},
		{Customer: changed(2, "v2@example.com", 2)},
	}, got.Records)
}

func testVersionTakeover(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 1)...)
	a, b := s.Queue("a"), s.Queue("b")
	old, err := a.Claim(ctx(t), 10, 200*time.Millisecond)
	require.NoError(t, err)
	s.Change(t, changed(1, "v2@example.com", 0))
	time.Sleep(300 * time.Millisecond)
	// a's lease ran out: b takes the record over, and gets version 2
	// only, with version 2's values.
	taken, err := b.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []common.ClaimedRecord{{Customer: changed(1, "v2@example.com", 2)}}, taken.Records)
	// a comes back late with version 1's success: recorded, but version
	// 2 is still b's to send.
	require.NoError(t, a.Settle(ctx(t), []common.Outcome{{ID: 1, Version: 1, Claim: old.ID, Sent: true}}, []int64{old.ID}))
	r := s.Record(t, 1)
	assert.Equal(t, common.StatePending, r.State)
	assert.Equal(t, "b", r.Holder)
	require.NoError(t, b.Settle(ctx(t), []common.Outcome{{ID: 1, Version: 2, Claim: taken.ID, Sent: true}}, []int64{taken.ID}))
	assert.Equal(t, common.StateSent, s.Record(t, 1).State)
}
