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
)

// budgetCRM accepts every customer and announces that its budget is spent
// for an hour.
type budgetCRM struct{ calls atomic.Int64 }

func (c *budgetCRM) Publish(ctx context.Context, _ common.Customer) (common.Budget, error) {
	c.calls.Add(1)
	return common.Budget{Known: true, Remaining: 0, Reset: time.Hour}, nil
}

// paceRecorder is an Observer that records the pacing limits it is told.
type paceRecorder struct {
	countingObserver
	mu    sync.Mutex
	rates []float64
}

func (o *paceRecorder) Pace(perSecond float64, inFlight int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rates = append(o.rates, perSecond)
}

func (o *paceRecorder) last() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.rates) == 0 {
		return -1
	}
	return o.rates[len(o.rates)-1]
}

func TestDelivererPaces(t *testing.T) {
	t.Run("MAX_RATE caps the rate", func(t *testing.T) {
		cfg := fastConfig()
		cfg.MaxRate = 2.5
		obs := &paceRecorder{}
		cfg.Observer = obs
		deliver.New(newStore(0).Queue("a"), newFakeCRM(nil), cfg)
		assert.Equal(t, 2.5, obs.last())
	})
	t.Run("a spent budget holds the workers, and shutdown is prompt", func(t *testing.T) {
		cfg := fastConfig()
		q := newStore(100)
		crm := &budgetCRM{}
		d := deliver.New(q.Queue("a"), crm, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		require.Eventually(t, func() bool { return crm.calls.Load() > 0 }, 10*time.Second, time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		// Only the requests that started before the first answer went out.
		assert.LessOrEqual(t, crm.calls.Load(), int64(cfg.Workers))
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return promptly while the budget was spent")
		}
		st := d.Stats()
		assert.Equal(t, crm.calls.Load(), st.Delivered)
		assert.Equal(t, st.Claimed-st.Delivered, st.Released, "the rest given back at shutdown")
	})
}

// TestDelivererRecordsAQuotaPause checks that a throttle asking for an
// hour pauses every request and is recorded in the store, for status.
func TestDelivererRecordsAQuotaPause(t *testing.T) {
	q := newStore(20)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if call == 3 {
			return common.StatusError(429, time.Hour)
		}
		return nil
	})
	d := deliver.New(q.Queue("a"), crm, fastConfig())
	start := time.Now()
	var noted time.Time
	var requests int
	runUntil(t, d, 5*time.Second, func() bool {
		switch {
		case q.Quota().IsZero():
			return false
		case noted.IsZero():
			noted, requests = time.Now(), crm.requests()
		}
		return time.Since(noted) > 300*time.Millisecond // retries are due after 10 ms
	})
	assert.WithinDuration(t, start.Add(time.Hour), q.Quota(), 5*time.Second)
	assert.LessOrEqual(t, requests, 3+fastConfig().Workers, "the requests in flight")
	assert.Equal(t, requests, crm.requests(), "nothing started during the pause")
}
