package postgres

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSeenIDs(t *testing.T) {
	tests := []struct {
		name string
		ids  func(r *rand.Rand, i int) int64
		n    int
	}{
		{"dense, in order", func(_ *rand.Rand, i int) int64 { return int64(i + 1) }, 200000},
		{"dense, shuffled", func(r *rand.Rand, _ int) int64 { return r.Int64N(300000) + 1 }, 200000},
		{"sparse", func(r *rand.Rand, _ int) int64 { return r.Int64N(math.MaxInt64) + 1 }, 20000},
		{"at the ends of a group", func(_ *rand.Rand, i int) int64 { return int64(i/2)<<16 | int64(i%2)*0xffff }, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := newSeenIDs()
			want := map[int64]bool{}
			for i := range tt.n {
				id := tt.ids(r, i)
				assert.Equal(t, want[id], s.has(id), "id %d before adding", id)
				s.add(id)
				want[id] = true
				assert.True(t, s.has(id))
			}
			got := map[int64]bool{}
			s.all(func(id int64) { got[id] = true })
			assert.Equal(t, want, got)
			assert.False(t, s.has(-1))
		})
	}
	s := newSeenIDs()
	for id := int64(1); id <= 1_000_000; id++ {
		s.add(id)
	}
	assert.Less(t, s.bytes, 200<<10, "a million dense ids in under 200 KiB")
}
