package deliver_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
)

// A quota pause noted before the integrator started (by the run before a
// restart, or another integrator) holds every request until its end.
func TestQuotaNotedBeforeTheStartHoldsEveryRequest(t *testing.T) {
	store := newStore(20)
	until := time.Now().Add(1500 * time.Millisecond)
	require.NoError(t, store.Queue("before").NoteQuota(context.Background(), until))
	crm := newFakeCRM(nil)
	d := deliver.New(store.Queue("a"), crm, fastConfig())
	runUntil(t, d, 10*time.Second, allSent(store))
	first := time.Time{}
	for _, calls := range crm.calls {
		for _, at := range calls {
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
	}
	assert.False(t, first.Before(until), "a request %s before the quota's end", until.Sub(first))
}

// answerCRM is a Publisher whose every answer, budget included, a test
// programs by the call's number (counted from 1).
type answerCRM struct {
	mu     sync.Mutex
	calls  int
	answer func(call int) (common.Budget, error)
}

func (c *answerCRM) Publish(ctx context.Context, _ common.Customer) (common.Budget, error) {
	c.mu.Lock()
	c.calls++
	call := c.calls
	c.mu.Unlock()
	return c.answer(call)
}

func (c *answerCRM) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// A CRM taken as down is probed one request at a time; when a probe's
// answer is a quota (a 429 or 503 asking for a minute or more, or a spent
// budget renewed that far ahead), nothing more is sent before its end:
// no request is spent probing before the renewal.
func TestQuotaMetByAProbeHoldsTheProbes(t *testing.T) {
	tests := []struct {
		name  string
		quota func() (common.Budget, error)
	}{
		{"503 with Retry-After: 120", func() (common.Budget, error) {
			return common.Budget{}, common.StatusError(503, 2*time.Minute)
		}},
		{"429 with Retry-After: 3600", func() (common.Budget, error) {
			return common.Budget{}, common.StatusError(429, time.Hour)
		}},
		{"429 announcing a budget spent for an hour", func() (common.Budget, error) {
			return common.Budget{Known: true, Remaining: 0, Reset: time.Hour}, common.StatusError(429, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.Workers = 1 // the failures come in a row: the 10th makes the CRM look down
			crm := &answerCRM{answer: func(call int) (common.Budget, error) {
				if call <= 10 {
					return common.Budget{}, common.StatusError(500, 0)
				}
				return tt.quota()
			}}
			obs := &quotaObserver{}
			cfg.Observer = obs
			d := deliver.New(newStore(50).Queue("a"), crm, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			require.Eventually(t, func() bool { return crm.requests() > 10 }, 10*time.Second, time.Millisecond, "the probe")
			time.Sleep(time.Second) // 20 probe intervals
			cancel()
			require.NoError(t, <-done)
			assert.Equal(t, 11, crm.requests(), "10 failures, then one probe meets the quota, then nothing")
			assert.True(t, obs.until().After(time.Now().Add(time.Minute)), "the pause is told")
		})
	}
}

// quotaObserver records the quota pauses it is told.
type quotaObserver struct {
	countingObserver
	mu     sync.Mutex
	paused time.Time
}

func (o *quotaObserver) Quota(until time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paused = until
}

func (o *quotaObserver) until() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paused
}
