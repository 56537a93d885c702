package common

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// budgetCRM accepts every customer and announces that its budget is spent
// for an hour.
type budgetCRM struct{ calls atomic.Int64 }

func (c *budgetCRM) Publish(ctx context.Context, _ Customer) (Budget, error) {
	c.calls.Add(1)
	return Budget{Known: true, Remaining: 0, Reset: time.Hour}, nil
}

func TestDelivererPaces(t *testing.T) {
	t.Run("MAX_RATE caps the rate", func(t *testing.T) {
		cfg := fastConfig()
		cfg.MaxRate = 2.5
		d := NewDeliverer(newMemQueue(0).owned("a", time.Second), newFakeCRM(nil), cfg)
		assert.Equal(t, 2.5, d.pace.Limit())
	})
	t.Run("a spent budget holds the workers, and shutdown is prompt", func(t *testing.T) {
		cfg := fastConfig()
		q := newMemQueue(100)
		crm := &budgetCRM{}
		d := NewDeliverer(q.owned("a", time.Second), crm, cfg)
		paused := func() bool { return crm.calls.Load() > 0 && d.pace.active.Load() }
		runUntil(t, d, 10*time.Second, paused)
		// Only the requests that started before the first answer went out.
		assert.LessOrEqual(t, crm.calls.Load(), int64(cfg.Workers))
		st := d.Stats()
		assert.Equal(t, crm.calls.Load(), st.Delivered)
		assert.Equal(t, st.Claimed-st.Delivered, st.Released, "the rest given back at shutdown")
	})
}
