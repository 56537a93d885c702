package deliver_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
)

// countingObserver is an Observer that counts what it is told.
type countingObserver struct {
	mu                        sync.Mutex
	attempts, errs            int
	sent, failed, settleCalls int
	downs                     []bool
}

func (o *countingObserver) Attempt(d time.Duration, failure *common.PublishError) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts++
	if failure != nil {
		o.errs++
	}
}

func (o *countingObserver) CRMDown(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.downs = append(o.downs, down)
}

func (o *countingObserver) Settled(sent, failed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.settleCalls++
	o.sent += sent
	o.failed += failed
}

func (o *countingObserver) counts() (attempts, errs, sent, failed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attempts, o.errs, o.sent, o.failed
}

func TestMaxAttempts(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		wantFailed  bool
		wantTries   int // attempts of record 7 when unlimited
	}{
		{"gives up after the maximum", 3, true, 3},
		{"a single attempt", 1, true, 1},
		{"unlimited retries until delivered", 0, false, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newStore(50)
			obs := &countingObserver{}
			cfg := fastConfig()
			cfg.MaxAttempts = tt.maxAttempts
			cfg.Observer = obs
			// Record 7 always fails when attempts are limited, and is
			// accepted at its wantTries-th attempt otherwise.
			var tries int
			crm := newFakeCRM(func(c common.Customer, call int) error {
				if c.ID == 7 {
					tries++ // attempts of one record never overlap
					if tt.maxAttempts > 0 || tries < tt.wantTries {
						return common.StatusError(500, 0)
					}
				}
				return nil
			})
			d := deliver.New(q.Queue("a"), crm, cfg)
			runUntil(t, d, 10*time.Second, func() bool {
				for _, r := range q.Records() {
					if r.State == common.StatePending {
						return false
					}
				}
				return true
			})
			rec := q.Records()[7]
			assert.Equal(t, tt.wantFailed, rec.State == common.StateFailed)
			assert.Equal(t, !tt.wantFailed, rec.State == common.StateSent)
			if tt.wantFailed {
				assert.Equal(t, tt.maxAttempts, rec.Attempts)
				require.Len(t, rec.Errors, tt.maxAttempts)
				assert.Equal(t, "status 500", rec.Errors[len(rec.Errors)-1], "the last error is kept")
				assert.Len(t, crm.calls[7], tt.maxAttempts, "no attempt after giving up")
				assert.Equal(t, int64(1), d.Stats().GaveUp)
			} else {
				assert.Zero(t, d.Stats().GaveUp)
			}
			attempts, errs, sent, failed := obs.counts()
			st := d.Stats()
			assert.Equal(t, crm.requests(), attempts, "every attempt observed")
			assert.Equal(t, int(st.Failed), errs)
			assert.Equal(t, int(st.Delivered), sent, "every written delivery observed")
			assert.Equal(t, int(st.Failed), failed)
			assert.Equal(t, 49, sent-boolInt(!tt.wantFailed))
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
