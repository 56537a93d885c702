package deliver_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
	"goquiz/impl/memory"
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

// TestProbeRecordChoice: a probe goes with the latest due record not held
// of the favoured kind, else with the worker's own record when it is of
// that kind, else with one of the other kind. Records 1-3 failed before
// and are not held; 11 and 12 were never tried and are held by this
// integrator's workers (13, when there, is neither).
func TestProbeRecordChoice(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tried       bool  // the favoured kind
		own         int64 // the worker's record
		unheldFresh bool  // record 13, never tried, is not held
		want        int64
		claimed     bool
	}{
		{"the favoured kind is held by our workers: the worker's own", false, 11, false, 11, false},
		{"the favoured kind not held: the latest due of it", false, 11, true, 13, true},
		{"tried favoured: the latest due that failed before", true, 11, true, 3, true},
		{"own of the other kind: the latest due of the other kind", false, 1, false, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New()
			ctx := context.Background()
			q := s.Queue("a")
			for id := int64(1); id <= 3; id++ {
				s.AddDue(time.Now().Add(time.Duration(id)*time.Millisecond-time.Second), common.Customer{ID: id})
			}
			c, err := q.Claim(ctx, 3, time.Minute)
			require.NoError(t, err)
			require.Len(t, c.Records, 3)
			var failed []common.Outcome
			for _, r := range c.Records {
				failed = append(failed, common.Outcome{ID: r.ID, Version: r.Version, Claim: c.ID, Err: "status 500", RetryIn: time.Duration(r.ID) * time.Millisecond})
			}
			require.NoError(t, q.Settle(ctx, failed, []int64{c.ID}))
			s.Add(common.Customer{ID: 11}, common.Customer{ID: 12})
			held := []int64{11, 12}
			s.Add(common.Customer{ID: 13})
			if !tc.unheldFresh {
				held = append(held, 13)
			}
			s.AddClaim("a", time.Now().Add(time.Minute), held)
			time.Sleep(5 * time.Millisecond) // records 1-3 due again

			d := deliver.New(q, newFakeCRM(nil), probeConfig())
			own, ok := s.Record(tc.own)
			require.True(t, ok)
			got, claimed := d.ProbeRecord(ctx, common.ClaimedRecord{Customer: own.Customer, Attempts: own.Attempts}, tc.tried)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.claimed, claimed)
		})
	}
}
