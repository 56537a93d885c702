package deliver_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"goquiz/common"
	"goquiz/common/deliver"
)

// Records claimed and waiting for a worker when a newer version is stored
// are given back unsent, found at the next wake-up (a load's
// notification) or, without one, within PollInterval; the newer version
// is sent instead, and the version in flight is finished first.
func TestVersionsReplacedWhileWaitingAreNotSent(t *testing.T) {
	tests := []struct {
		name string
		wake bool
	}{
		{"woken by the load", true},
		{"found by polling", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 10
			q := newStore(n)
			cfg := fastConfig()
			cfg.Workers = 1
			cfg.Batch = n // every record claimed at once
			wake := make(chan struct{}, 1)
			if tt.wake {
				cfg.Wake = wake
				cfg.PollInterval = time.Hour
			}
			release := make(chan struct{})
			var mu sync.Mutex
			sent := map[int64][]string{}
			crm := newFakeCRM(func(c common.Customer, call int) error {
				if call == 1 {
					<-release // the first request hangs while the load runs
				}
				mu.Lock()
				defer mu.Unlock()
				sent[c.ID] = append(sent[c.ID], c.FirstName)
				return nil
			})
			d := deliver.New(q.Queue("a"), crm, cfg)
			go func() {
				assert.Eventually(t, func() bool { return crm.requests() == 1 && q.Claims() > 0 }, 5*time.Second, time.Millisecond)
				for id := int64(1); id <= n; id++ {
					q.Change(common.Customer{ID: id, FirstName: "v2"})
				}
				wake <- struct{}{}
				time.Sleep(200 * time.Millisecond)
				close(release)
			}()
			runUntil(t, d, 10*time.Second, func() bool {
				for _, r := range q.Records() {
					if r.State != common.StateSent {
						return false
					}
				}
				return true
			})
			mu.Lock()
			defer mu.Unlock()
			var first int64
			for id, vs := range sent {
				if len(vs) == 2 {
					first = id
				}
			}
			for id := int64(1); id <= n; id++ {
				if id == first {
					assert.Equal(t, []string{"f", "v2"}, sent[id], "record %d: in flight, finished first", id)
					continue
				}
				assert.Equal(t, []string{"v2"}, sent[id], "record %d: only the newest version", id)
			}
			assert.NotZero(t, first, "one record was in flight")
		})
	}
}
