package deliver_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common/deliver"
	"goquiz/impl/memory"
)

// finder is a pacer as the limit sharer sees it, set by the test.
type finder struct{ active, found, peer atomic.Bool }

func (f *finder) Active() bool          { return f.active.Load() }
func (f *finder) FoundLimit() bool      { return f.found.Load() }
func (f *finder) SetPeerLimited(v bool) { f.peer.Store(v) }

// The limit one integrator's pacing found reaches the other's pacer, its
// own never; withdrawn, the other is told; stopping withdraws it.
func TestTheLimitFoundIsShared(t *testing.T) {
	s := memory.New()
	qa, qb := s.Queue("a"), s.Queue("b")
	a, b := &finder{}, &finder{}
	a.active.Store(true)
	b.active.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { deliver.New(qa, newFakeCRM(nil), fastConfig()).ShareLimits(ctx, qa, a, 10*time.Millisecond) })
	wg.Go(func() { deliver.New(qb, newFakeCRM(nil), fastConfig()).ShareLimits(ctx, qb, b, 10*time.Millisecond) })

	a.found.Store(true)
	require.Eventually(t, b.peer.Load, 5*time.Second, 5*time.Millisecond, "b told of a's limit")
	assert.False(t, a.peer.Load(), "a's own limit is no peer's")
	a.found.Store(false)
	require.Eventually(t, func() bool { return !b.peer.Load() }, 5*time.Second, 5*time.Millisecond, "b told a's limit is withdrawn")

	a.found.Store(true)
	require.Eventually(t, b.peer.Load, 5*time.Second, 5*time.Millisecond)
	cancel()
	wg.Wait()
	limited, err := qb.PeerLimited(context.Background())
	require.NoError(t, err)
	assert.False(t, limited, "a withdrew its limit as it stopped")
}

// A pacer not active (the CRM never throttled) asks nothing of the store.
func TestNoLimitSharedBeforeAThrottle(t *testing.T) {
	s := memory.New()
	qa, qb := s.Queue("a"), s.Queue("b")
	a := &finder{}
	a.found.Store(true) // as if: not active, nothing is read
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	deliver.New(qa, newFakeCRM(nil), fastConfig()).ShareLimits(ctx, qa, a, 10*time.Millisecond)
	limited, err := qb.PeerLimited(context.Background())
	require.NoError(t, err)
	assert.False(t, limited)
}
