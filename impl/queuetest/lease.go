package queuetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testExtendKeeps(t *testing.T, s Store) {
	a, c := addAndClaim(t, s, 2, 400*time.Millisecond)
	for range 3 {
		time.Sleep(200 * time.Millisecond)
		renewed, err := a.Extend(ctx(t), []int64{c.ID}, 400*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, []int64{c.ID}, renewed)
	}
	taken, err := s.Queue("b").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, taken.Deliveries, "a lease kept alive must not be taken over")
}

func testExtendLapsedNotTakenOver(t *testing.T, s Store) {
	a, c := addAndClaim(t, s, 2, 200*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	// Lapsed, but no one took it over: it is still a's, and renewed (as
	// after a partition shorter than it took another to come for it).
	renewed, err := a.Extend(ctx(t), []int64{c.ID}, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []int64{c.ID}, renewed)
	taken, err := s.Queue("b").Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, taken.Deliveries, "a renewed claim is not taken over")
	assert.Equal(t, "a", s.Record(t, 1).Holder)
}

func testExtendOnlyHeld(t *testing.T, s Store) {
	a, old := addAndClaim(t, s, 2, 200*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	// b takes over a's lapsed claim as a whole: the record it picks is
	// b's, the other is free again.
	b := s.Queue("b")
	taken, err := b.Claim(ctx(t), 1, time.Hour)
	require.NoError(t, err)
	require.Len(t, taken.Deliveries, 1)
	renewed, err := a.Extend(ctx(t), []int64{old.ID, taken.ID}, time.Hour)
	require.NoError(t, err)
	assert.Empty(t, renewed, "neither a claim taken over nor another's is renewed")
	picked := taken.Deliveries[0].ID
	assert.Equal(t, "b", s.Record(t, picked).Holder, "extending does not steal back")
	assert.Empty(t, s.Record(t, 3-picked).Holder, "nor revive a claim taken over")
	rest, err := s.Queue("c").Claim(ctx(t), 10, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []int64{3 - picked}, IDs(rest))
}

func testRelease(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 6)...)
	a, b := s.Queue("a"), s.Queue("b")
	first, err := a.Claim(ctx(t), 4, time.Hour)
	require.NoError(t, err)
	require.Len(t, first.Deliveries, 4)
	second, err := a.Claim(ctx(t), 4, time.Hour)
	require.NoError(t, err)
	require.Len(t, second.Deliveries, 2)
	keep := []int64{IDs(first)[0]}
	require.NoError(t, a.Release(ctx(t), []int64{first.ID}, keep))
	got, err := b.Claim(ctx(t), 10, time.Hour)
	require.NoError(t, err)
	assert.ElementsMatch(t, IDs(first)[1:], IDs(got), "released records are claimable at once, the kept one and the other claim are not")
	assert.Equal(t, "a", s.Record(t, keep[0]).Holder)
	for _, id := range IDs(second) {
		assert.Equal(t, "a", s.Record(t, id).Holder, "a claim not listed is not released")
	}
	// Releasing touches only what a holds.
	require.NoError(t, a.Release(ctx(t), []int64{first.ID, second.ID, got.ID}, nil))
	assert.Equal(t, "b", s.Record(t, IDs(got)[0]).Holder)
	rest, err := b.Claim(ctx(t), 10, time.Hour)
	require.NoError(t, err)
	assert.ElementsMatch(t, append(keep, IDs(second)...), IDs(rest))
}

func testSweep(t *testing.T, s Store) {
	s.Add(t, time.Now(), customers(1, 30)...)
	a := s.Queue("a")
	held, err := a.Claim(ctx(t), 10, time.Hour)
	require.NoError(t, err)
	// What a claim with a lost answer leaves under a's name, and another
	// integrator's live claim.
	s.AddClaim(t, "a", time.Now().Add(time.Hour), []int64{21, 22})
	s.AddClaim(t, "b", time.Now().Add(time.Hour), []int64{23})
	require.NoError(t, a.Sweep(ctx(t), []int64{held.ID}))
	assert.Equal(t, 2, s.Claims(t), "the orphan ends; held and others' claims stay")
	assert.Empty(t, s.Record(t, 21).Holder)
	assert.Equal(t, "b", s.Record(t, 23).Holder)
	assert.Equal(t, "a", s.Record(t, IDs(held)[0]).Holder)
	got, err := s.Queue("c").Claim(ctx(t), 30, time.Hour)
	require.NoError(t, err)
	assert.Len(t, got.Deliveries, 30-10-1)
	assert.Contains(t, IDs(got), int64(21))
}

func testNextDue(t *testing.T, s Store) {
	a, b := s.Queue("a"), s.Queue("b")
	_, ok, err := a.NextDue(ctx(t))
	require.NoError(t, err)
	assert.False(t, ok, "nothing stored")

	s.Add(t, time.Now().Add(time.Hour), customers(1, 1)...)
	wait, ok, err := a.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, time.Hour, wait, float64(time.Minute), "a record due later")

	s.Add(t, time.Now().Add(-time.Minute), customers(2, 2)...)
	wait, ok, err = a.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.LessOrEqual(t, wait, time.Duration(0), "a record due now")

	// Held by a under a short lease: for b, due when the lease ends; for
	// a, its own claim is no work to look for.
	_, err = a.Claim(ctx(t), 10, 300*time.Millisecond)
	require.NoError(t, err)
	wait, ok, err = b.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, 300*time.Millisecond, wait, float64(200*time.Millisecond))
	wait, ok, err = a.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, time.Hour, wait, float64(time.Minute), "for a, only the record due later")
}

func testReleasedEarlier(t *testing.T, s Store) {
	// Ten records due ten minutes ago, then 3000 due a minute ago.
	s.Add(t, time.Now().Add(-10*time.Minute), customers(1, 10)...)
	s.Add(t, time.Now().Add(-time.Minute), customers(11, 3000)...)
	b := s.Queue("b")
	early, err := b.Claim(ctx(t), 10, time.Hour)
	require.NoError(t, err)
	require.ElementsMatch(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, IDs(early), "oldest due first")

	a := s.Queue("a")
	_, err = a.Claim(ctx(t), 100, time.Hour)
	require.NoError(t, err)
	// b gives its records back, due before where a's claims now start.
	require.NoError(t, b.Release(ctx(t), []int64{early.ID}, nil))
	found := map[int64]bool{}
	for range 10 {
		got, err := a.Claim(ctx(t), 100, time.Hour)
		require.NoError(t, err)
		for _, id := range IDs(got) {
			found[id] = true
		}
	}
	for id := int64(1); id <= 10; id++ {
		assert.True(t, found[id], "record %d, released, claimed again within ten claims", id)
	}
}
