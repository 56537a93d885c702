package queuetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// testLimitShared: a rate limit one integrator notes is in force for its
// peers, never for itself, until it is withdrawn or its time passes; a
// note again replaces the time (it extends a limit still in force); the
// limits of several owners are each in force; each peer reads the rate
// noted with each limit in force, the latest noted.
func testLimitShared(t *testing.T, s Store) {
	sharer := func(owner string) common.LimitSharer {
		t.Helper()
		l, ok := s.Queue(owner).(common.LimitSharer)
		require.True(t, ok, "the queue shares rate limits")
		return l
	}
	a, b, c := sharer("a"), sharer("b"), sharer("c")
	note := func(l common.LimitSharer, d time.Duration, rate float64) {
		t.Helper()
		require.NoError(t, l.NoteLimit(ctx(t), d, rate))
	}
	rates := func(l common.LimitSharer) []float64 {
		t.Helper()
		r, err := l.PeerLimits(ctx(t))
		require.NoError(t, err)
		slices.Sort(r)
		return r
	}
	limited := func(l common.LimitSharer) bool { t.Helper(); return len(rates(l)) > 0 }

	assert.False(t, limited(a), "none noted")
	note(a, 0, 0) // withdrawing none is no error
	note(a, -time.Second, 0)
	assert.False(t, limited(b))

	note(a, 2*time.Second, 10)
	assert.True(t, limited(b), "a's limit is in force for b")
	assert.True(t, limited(c), "and for c")
	assert.False(t, limited(a), "not for a itself")
	note(a, 0, 0)
	assert.False(t, limited(b), "withdrawn")
	assert.False(t, limited(a))

	// A short limit ends by itself.
	const short = 300 * time.Millisecond
	start := time.Now()
	note(a, short, 10)
	noted := time.Now()
	got := limited(b)
	if time.Since(start) < short { // else the machine was too slow to tell
		assert.True(t, got, "in force for %v", short)
	}
	time.Sleep(time.Until(noted.Add(short + 100*time.Millisecond)))
	assert.False(t, limited(b), "its time passed")

	// Two owners: each sees the other's, and its rate.
	note(a, 2*time.Second, 120.5)
	note(b, 2*time.Second, 80)
	assert.Equal(t, []float64{80}, rates(a), "b's limit")
	assert.Equal(t, []float64{120.5}, rates(b), "a's limit")
	assert.Equal(t, []float64{80, 120.5}, rates(c))
	note(a, 2*time.Second, 150)
	assert.Equal(t, []float64{150}, rates(b), "a's latest rate")
	note(a, 0, 0)
	assert.True(t, limited(a), "b's limit is still in force")
	assert.False(t, limited(b), "a's was withdrawn; b's own does not count")
	assert.True(t, limited(c), "b's")
	note(b, -1, 0)
	assert.False(t, limited(a))
	assert.False(t, limited(c))

	// Noting again before the end extends the limit...
	note(a, short, 10)
	note(a, 2*time.Second, 10)
	noted = time.Now()
	time.Sleep(time.Until(noted.Add(short + 100*time.Millisecond)))
	assert.True(t, limited(b), "extended to 2s")
	// ...and the latest note counts: for d from now.
	note(a, short, 10)
	noted = time.Now()
	time.Sleep(time.Until(noted.Add(short + 100*time.Millisecond)))
	assert.False(t, limited(b), "noted again for %v, which passed", short)
}
