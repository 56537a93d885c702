package deliver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestBackoffBounds(t *testing.T) {
	first, maxD := 100*time.Millisecond, time.Second
	tests := []struct {
		failures int
		lo, hi   time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{60, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 200 {
			d := backoff(tt.failures, first, maxD)
			require.GreaterOrEqual(t, d, tt.lo, "failures %d", tt.failures)
			require.LessOrEqual(t, d, tt.hi, "failures %d", tt.failures)
		}
	}
}

func TestRetryDelayUsesLongerOfBackoffAndRetryAfter(t *testing.T) {
	err := common.StatusError(503, 3*time.Second)
	assert.Equal(t, 3*time.Second, retryDelay(err, 1, 100*time.Millisecond, time.Second))
	d := retryDelay(common.StatusError(503, time.Millisecond), 1, time.Second, time.Minute)
	assert.GreaterOrEqual(t, d, 500*time.Millisecond)
}
