package common

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStorePause(t *testing.T) {
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i, w := range want {
		assert.Equal(t, w, StorePause(i+1), "after %d failures", i+1)
	}
	assert.Equal(t, 2*time.Second, StorePause(1000))
	assert.Equal(t, 100*time.Millisecond, StorePause(0))
}
