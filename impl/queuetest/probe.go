package queuetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// testClaimProbe: a probe's record is the latest due of the kind asked
// for (failed before, or never tried) that no claim lists, held by a
// claim of its own that the next claims leave alone.
func testClaimProbe(t *testing.T, s Store) {
	now := time.Now()
	s.Add(t, now.Add(-20*time.Second), customers(1, 2)...)
	s.Add(t, now.Add(-10*time.Second), customers(3, 5)...)
	q := s.Queue("a")
	pc, ok := q.(common.ProbeClaimer)
	require.True(t, ok, "the queue claims probe records")
	// 1 fails once: tried, and due again at once, the latest due.
	c, err := q.Claim(ctx(t), 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, IDs(c))
	require.NoError(t, q.Settle(ctx(t), []common.Outcome{{ID: 1, Claim: c.ID, Err: "status 500"}}, []int64{c.ID}))
	s.AddClaim(t, "b", now.Add(time.Minute), []int64{5})

	probe := func(tried bool) []int64 {
		t.Helper()
		p, err := pc.ClaimProbe(ctx(t), tried, time.Minute)
		require.NoError(t, err)
		return IDs(p)
	}
	assert.Equal(t, []int64{1}, probe(true), "the latest due that failed before")
	assert.Equal(t, "a", s.Record(t, 1).Holder)
	assert.Empty(t, probe(true), "no other failed before, and 1 is held")
	assert.Equal(t, []int64{4}, probe(false), "the latest due never tried that no claim lists (5 is b's)")
	assert.Equal(t, "a", s.Record(t, 4).Holder)
	rest, err := q.Claim(ctx(t), 10, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 3}, IDs(rest), "what probes hold is not claimed again")
}
