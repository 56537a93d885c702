package deliver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestBreakerIgnoresSuccessesFromBeforeTheOutage(t *testing.T) {
	b := newBreaker(3, time.Hour, time.Hour, nil)
	ctx := context.Background()
	early, err := b.acquire(ctx) // goes out before the CRM goes down
	require.NoError(t, err)
	down := common.ConnectionError(nil)
	for range 3 {
		p, err := b.acquire(ctx)
		require.NoError(t, err)
		b.report(p, down)
	}
	require.True(t, b.isDown())
	b.report(early, nil) // a late answer to the early request
	assert.True(t, b.isDown(), "a success from before the outage must not reopen")
}

func TestBreakerComesBackOnAProbe(t *testing.T) {
	b := newBreaker(2, 10*time.Millisecond, 10*time.Millisecond, nil)
	ctx := context.Background()
	down := common.StatusError(503, 0)
	for range 2 {
		p, _ := b.acquire(ctx)
		b.report(p, down)
	}
	require.True(t, b.isDown())
	probe, err := b.acquire(ctx)
	require.NoError(t, err)
	require.True(t, probe.probe)
	b.report(probe, nil)
	assert.False(t, b.isDown())
	next, err := b.acquire(ctx)
	require.NoError(t, err)
	assert.False(t, next.probe)
}
