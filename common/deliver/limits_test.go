package deliver_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
	"goquiz/impl/memory"
)

// finder is a pacer as the limit sharer sees it, set by the test: its
// rate taken is 10/s.
type finder struct {
	active, found, peer atomic.Bool
	mu                  sync.Mutex
	rates               []float64 // the peers' rates told
}

func (f *finder) Active() bool                { return f.active.Load() }
func (f *finder) FoundLimit() (float64, bool) { return 10, f.found.Load() }
func (f *finder) SetPeerLimits(rates []float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peer.Store(len(rates) > 0)
	f.rates = rates
}

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
	wg.Go(func() { deliver.New(qa, newFakeCRM(nil), fastConfig()).ShareLimits(ctx, qa, a, 20*time.Millisecond) })
	wg.Go(func() { deliver.New(qb, newFakeCRM(nil), fastConfig()).ShareLimits(ctx, qb, b, 20*time.Millisecond) })

	a.found.Store(true)
	require.Eventually(t, b.peer.Load, 5*time.Second, 5*time.Millisecond, "b told of a's limit")
	b.mu.Lock()
	assert.Equal(t, []float64{10}, b.rates, "and of the rate a's CRM takes")
	b.mu.Unlock()
	assert.False(t, a.peer.Load(), "a's own limit is no peer's")
	a.found.Store(false)
	require.Eventually(t, func() bool { return !b.peer.Load() }, 5*time.Second, 5*time.Millisecond, "b told a's limit is withdrawn")

	a.found.Store(true)
	require.Eventually(t, b.peer.Load, 5*time.Second, 5*time.Millisecond)
	// A note lasts 30 ticks (600 ms here): noted every tick, it holds
	// past that.
	time.Sleep(1500 * time.Millisecond)
	assert.True(t, b.peer.Load(), "a's limit, noted again before it ran out")
	cancel()
	wg.Wait()
	rates, err := qb.PeerLimits(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rates, "a withdrew its limit as it stopped")
}

// counted is a LimitSharer that counts the calls made of it.
type counted struct {
	common.LimitSharer
	calls atomic.Int64
}

func (c *counted) NoteLimit(ctx context.Context, d time.Duration, rate float64) error {
	c.calls.Add(1)
	return c.LimitSharer.NoteLimit(ctx, d, rate)
}

func (c *counted) PeerLimits(ctx context.Context) ([]float64, error) {
	c.calls.Add(1)
	return c.LimitSharer.PeerLimits(ctx)
}

// A pacer not active (the CRM never throttled) asks nothing of the store,
// and notes nothing; once active, it asks every tick.
func TestNoLimitSharedBeforeAThrottle(t *testing.T) {
	s := memory.New()
	qa := s.Queue("a")
	ls := &counted{LimitSharer: qa}
	a := &finder{}
	a.found.Store(true) // as if: not active, nothing is read
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d := deliver.New(qa, newFakeCRM(nil), fastConfig())
	d.ShareLimits(ctx, ls, a, 10*time.Millisecond)
	assert.Zero(t, ls.calls.Load(), "no query before the pacer is active")
	assert.Zero(t, s.Limit("a"), "nothing noted")

	a.active.Store(true)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d.ShareLimits(ctx, ls, a, 10*time.Millisecond)
	assert.Positive(t, ls.calls.Load(), "active, it asks")
}
