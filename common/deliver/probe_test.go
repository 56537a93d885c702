package deliver_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"goquiz/common"
	"goquiz/common/deliver"
)

// probeConfig has probes far enough apart that walking the records in
// line, one probe each, would take seconds, and claims small enough that
// most records are not held when the CRM looks down (the fake CRM answers
// at once, which would size claims to the largest).
func probeConfig() deliver.Config {
	cfg := fastConfig()
	cfg.Batch = 50
	cfg.RetryDelay = 50 * time.Millisecond
	cfg.RetryMaxDelay = time.Second
	cfg.ProbeMaxInterval = 200 * time.Millisecond
	return cfg
}

func TestPoisonRecordsAtTheHeadDoNotStallProbes(t *testing.T) {
	q := newStore(600)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if c.ID <= 100 {
			return common.StatusError(500, 0)
		}
		return nil
	})
	d := deliver.New(q.Queue("a"), crm, probeConfig())
	start := time.Now()
	// Probes sent with the records in line, one every 200 ms, would take
	// 20 s to walk past the 100 that always fail.
	runUntil(t, d, 10*time.Second, func() bool {
		customers, _ := crm.acceptedCount()
		return customers == 500
	})
	t.Logf("500 good records delivered in %v", time.Since(start).Round(time.Millisecond))
	customers, dups := crm.acceptedCount()
	assert.Equal(t, 500, customers)
	assert.Zero(t, dups)
}

func TestRetriesTheCRMTakesAreProbedWith(t *testing.T) {
	q := newStore(300)
	crm := newFakeCRM(nil)
	crm.answer = func(c common.Customer, call int) error {
		crm.mu.Lock()
		first := len(crm.calls[c.ID]) == 1
		crm.mu.Unlock()
		if first {
			return common.StatusError(500, 0)
		}
		return nil
	}
	d := deliver.New(q.Queue("a"), crm, probeConfig())
	start := time.Now()
	// Probes sent with never-tried records, one every 200 ms, would take
	// a minute to get to the retries.
	runUntil(t, d, 15*time.Second, allSent(q))
	t.Logf("300 records refused once each delivered in %v", time.Since(start).Round(time.Millisecond))
	customers, dups := crm.acceptedCount()
	assert.Equal(t, 300, customers)
	assert.Zero(t, dups)
}
