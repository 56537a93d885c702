package common

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// simT0 is the simulated clock's origin.
var simT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestPaceSimulated runs the pacing law against simulated CRMs (2 ms per
// accepted request, 0.2 ms per refusal, 0.1 ms of the worker's own time,
// Retry-After 1 s) and checks what the benchmark checks for real: the
// customers accepted per second from the first request to the last
// acceptance, and the share of all requests refused.
func TestPaceSimulated(t *testing.T) {
	tests := []struct {
		name        string
		setup       simSetup
		minRate     float64
		maxRefused  float64
		minEachPart float64 // the least share of the records each integrator delivers
	}{
		{name: "token bucket 500/s, burst 50", setup: simSetup{crm: newBucketCRM(500, 50), integrators: 1, workers: 8, records: 20000},
			minRate: 0.9 * 500, maxRefused: 0.05},
		{name: "the same with MAX_RATE 500", setup: simSetup{crm: newBucketCRM(500, 50), integrators: 1, workers: 8, records: 20000, maxRate: 500},
			minRate: 0.95 * 500, maxRefused: 0.01},
		{name: "two integrators share it", setup: simSetup{crm: newBucketCRM(500, 50), integrators: 2, workers: 8, records: 20000},
			minRate: 0.85 * 500, maxRefused: 0.10, minEachPart: 0.2},
		{name: "three integrators share it", setup: simSetup{crm: newBucketCRM(500, 50), integrators: 3, workers: 8, records: 20000},
			minRate: 0.85 * 500, maxRefused: 0.10, minEachPart: 0.02},
		{name: "64 workers", setup: simSetup{crm: newBucketCRM(500, 50), integrators: 1, workers: 64, records: 20000},
			minRate: 0.9 * 500, maxRefused: 0.05},
		{name: "token bucket 2000/s, burst 200", setup: simSetup{crm: newBucketCRM(2000, 200), integrators: 1, workers: 8, records: 50000},
			minRate: 0.9 * 2000, maxRefused: 0.05},
		{name: "token bucket 300/s, burst 30", setup: simSetup{crm: newBucketCRM(300, 30), integrators: 1, workers: 8, records: 9000},
			minRate: 0.9 * 300, maxRefused: 0.05},
		{name: "token bucket 100/s, burst 10", setup: simSetup{crm: newBucketCRM(100, 10), integrators: 1, workers: 8, records: 6000},
			minRate: 0.9 * 100, maxRefused: 0.05},
		{name: "token bucket 100/s, burst 10, 50 ms", setup: simSetup{crm: newBucketCRM(100, 10), integrators: 1, workers: 8, records: 6000, latency: 50 * time.Millisecond},
			minRate: 0.9 * 100, maxRefused: 0.06},
		{name: "token bucket 20/s, burst 2", setup: simSetup{crm: newBucketCRM(20, 2), integrators: 1, workers: 8, records: 1200},
			minRate: 0.85 * 20, maxRefused: 0.07},
		{name: "two integrators share 50/s, burst 5, 20 ms", setup: simSetup{crm: newBucketCRM(50, 5), integrators: 2, workers: 8, records: 3000, latency: 20 * time.Millisecond},
			minRate: 0.85 * 50, maxRefused: 0.08, minEachPart: 0.02},
		{name: "a budget of 100 per second, announced", setup: simSetup{crm: &windowCRM{start: simT0, window: time.Second, limit: 100}, integrators: 1, workers: 8, records: 2000},
			minRate: 0.95 * 100, maxRefused: 0.01},
		{name: "a 5 s outage of 503s with Retry-After in a token bucket", setup: simSetup{crm: &outageCRM{from: simT0.Add(10 * time.Second), to: simT0.Add(15 * time.Second), next: newBucketCRM(500, 50)},
			integrators: 1, workers: 8, records: 20000},
			minRate: 0.75 * 500, maxRefused: 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := simulate(tt.setup, simT0)
			t.Logf("accepted %.0f/s, refused %.2f%% of %d requests, by integrator %v", r.acceptedRate(tt.setup.records), 100*r.refusedShare(), r.requests, r.acceptedBy)
			assert.GreaterOrEqual(t, r.acceptedRate(tt.setup.records), tt.minRate)
			assert.LessOrEqual(t, r.refusedShare(), tt.maxRefused)
			for i, n := range r.acceptedBy {
				assert.GreaterOrEqual(t, float64(n), tt.minEachPart*float64(tt.setup.records), "integrator %d", i)
			}
		})
	}
}

// TestPaceSimulatedFlaky is the fault suite's flaky CRM: 5% refused and
// a third failed (500) at random, 1 to 6 ms a request, 32 workers. The
// failures are requests the CRM took, not a reason to slow down: paced,
// the customers go at least 0.8 times as fast as unpaced.
func TestPaceSimulatedFlaky(t *testing.T) {
	setup := func(unpaced bool) simSetup {
		return simSetup{crm: &randomCRM{share: 0.05, fail: 1.0 / 3, rng: rand.New(rand.NewPCG(1, 2))}, integrators: 1, workers: 32, records: 20000,
			latency: time.Millisecond, jitter: 5 * time.Millisecond, unpaced: unpaced}
	}
	unpaced, paced := simulate(setup(true), simT0), simulate(setup(false), simT0)
	t.Logf("%.0f/s paced, %.0f/s unpaced", paced.acceptedRate(20000), unpaced.acceptedRate(20000))
	assert.GreaterOrEqual(t, paced.acceptedRate(20000), 0.8*unpaced.acceptedRate(20000))
}

// TestPaceSimulatedRandomRefusals checks that a CRM refusing 5% of the
// requests at random, whatever the rate, does not drive the rate down
// (cutting does not lower the share, so the cuts are undone): paced, the
// customers go at least 0.6 times as fast as when sent without pacing.
func TestPaceSimulatedRandomRefusals(t *testing.T) {
	for _, workers := range []int{8, 32} {
		crm := func() simCRM { return &randomCRM{share: 0.05, rng: rand.New(rand.NewPCG(1, 2))} }
		unpaced := simulate(simSetup{crm: crm(), integrators: 1, workers: workers, records: 20000, unpaced: true}, simT0)
		paced := simulate(simSetup{crm: crm(), integrators: 1, workers: workers, records: 20000}, simT0)
		t.Logf("%d workers: %.0f/s paced, %.0f/s unpaced", workers, paced.acceptedRate(20000), unpaced.acceptedRate(20000))
		assert.GreaterOrEqual(t, paced.acceptedRate(20000), 0.65*unpaced.acceptedRate(20000), "%d workers", workers)
	}
}
