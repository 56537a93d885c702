package mockcrm

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"goquiz/common"
)

func TestParseGoquizKey(t *testing.T) {
	tests := []struct {
		key    string
		want   int64
		wantOK bool
	}{
		{"goquiz-customer-42", 42, true},
		{"goquiz-customer-9223372036854775807", math.MaxInt64, true},
		{"goquiz-customer--3", -3, true},
		{"goquiz-customer-042", 0, false},
		{"goquiz-customer-+42", 0, false},
		{"goquiz-customer-", 0, false},
		{"goquiz-customer-9223372036854775808", 0, false},
		{"goquiz-customer-4x", 0, false},
		{"other-42", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := parseGoquizKey(tt.key)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestKeySet(t *testing.T) {
	s := newKeySet()
	assert.True(t, s.add("goquiz-customer-1"))
	assert.False(t, s.add("goquiz-customer-1"))
	assert.False(t, s.addID(1), "fallback id 1 is goquiz-customer-1")
	assert.True(t, s.addID(2))
	assert.False(t, s.add("goquiz-customer-2"))
	assert.True(t, s.add("custom"))
	assert.False(t, s.add("custom"))
}

// BenchmarkKeySetAdd measures adding new goquiz keys from every core at
// once, as concurrent requests do.
func BenchmarkKeySetAdd(b *testing.B) {
	s := newKeySet()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.add(common.IdempotencyKey(next.Add(1)))
		}
	})
}
