package pace

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// simT0 is the simulated clock's origin.
var simT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simCell is one cell of the pacing matrix (docs/pacing.md), simulated:
// a CRM, how it is reached, and the goal. The goal is a share of the
// allowed rate limit (when set) or of the same run without pacing.
type simCell struct {
	name  string
	setup func(seed uint64) simSetup
	// limit is the CRM's allowed rate (0: none, the goal is against the
	// same cell sent without pacing).
	limit float64
	// minRatio is the least accepted rate, as a share of limit or of the
	// rate without pacing; maxRefused the most refused share (of the
	// limit's refusals, where it keeps count).
	minRatio, maxRefused float64
	// minEach is the least share of the records each integrator delivers.
	minEach float64
	// open, when set, says why the goal is not met yet: the cell is run
	// and printed, not judged (docs/pacing.md lists these).
	open string
}

// setupFor returns the cell's run for seed, its random latencies and
// arrivals drawn from seed too.
func (c simCell) setupFor(seed uint64) simSetup {
	s := c.setup(seed)
	s.seed = seed
	return s
}

// flaky is row 2's CRM: 30% 500s, 5% 429s at random, 2% hangs.
func flaky(seed uint64, next simCRM) *randomCRM {
	return &randomCRM{share: 0.05, fail: 0.30, hang: 0.02, rng: rand.New(rand.NewPCG(seed, 2)), next: next}
}

// benchRecords are the records the benchmark's bucket cells deliver at
// each rate (cmd/bench/pacing.go): the refusals of finding the limit
// weigh on a short run.
var benchRecords = map[float64]int{20: 500, 100: 3000, 500: 15000}

func bucketCell(r float64, burst int, latency time.Duration, integrators int, maxRate float64) simCell {
	min, refused := 0.9, 0.05
	if burst == 1 {
		min, refused = 0.8, 0.10
	}
	if maxRate > 0 {
		min, refused = 0.95, 0.01
	}
	name := fmt.Sprintf("bucket %g/s burst %d, %v, %d integrator(s)", r, burst, latency, integrators)
	var open string
	switch {
	case maxRate > 0 && burst == 1:
		open = "0.71: beyond any client, one fixed at R gets 0.63 R with 37% refused (0.53 R, 37.5% for real) (a request that arrives a little early is refused)"
	case burst == 1:
		open = "0.70, 1% refused: above R the bucket takes about half of what is sent, and the cut, from what it took, lands near 0.6 R"
	case r == 20 && maxRate == 0:
		open = "refused 4.2-5.8% (2 ms) and 4.4-5.3% (50 ms) over 10 seeds, 0.88-0.95 at 50 ms: on 500 records, finding the limit from full speed costs 3%, 8 workers at once against a burst of 2, then a resume from what the first 0.1 s took"
	case integrators == 2 && r == 100:
		open = "0.89-0.98 over 60 seeds, at most 4% refused, split 38/62 at worst; for real 0.88-0.93 in six runs (0.84-0.96 before the fair share): each integrator's cuts and raises go on their own, a second apart from what the other does"
	case integrators == 3 && r == 100:
		open = "0.84-0.95 over 60 seeds, 2 above 5% refused; for real 0.81-0.90 in six runs (0.80-0.93 before the fair share): each integrator's cuts and raises go on their own, a second apart from what the others do"
	}
	if maxRate > 0 {
		name += ", MAX_RATE"
	}
	return simCell{name: name, open: open, limit: r, minRatio: min, maxRefused: refused, minEach: map[bool]float64{true: 0.3}[integrators == 2],
		setup: func(uint64) simSetup {
			return simSetup{crm: newBucketCRM(r, burst), integrators: integrators, workers: max(8, int(2*r*latency.Seconds())), maxRate: maxRate,
				records: benchRecords[r], latency: latency}
		}}
}

func windowCell(maxRate float64) simCell {
	c := simCell{name: "fixed window 150 per 10 s, silent", limit: 15, minRatio: 0.8, maxRefused: 0.10,
		setup: func(uint64) simSetup {
			return simSetup{crm: &windowCRM{silent: true, start: simT0.Add(-3 * time.Second), window: 10 * time.Second, limit: 150},
				integrators: 1, workers: 8, maxRate: maxRate, records: 601, noRetryAfter: true}
		}}
	if maxRate > 0 {
		c.name, c.minRatio, c.maxRefused, c.open = c.name+", MAX_RATE", 0.95, 0.01, ""
	}
	return c
}

// simMatrix is the pacing matrix of the benchmark, simulated.
func simMatrix() []simCell {
	cells := []simCell{
		{name: "no limit, no faults, 2ms", minRatio: 0.95, setup: func(uint64) simSetup {
			return simSetup{crm: &randomCRM{rng: rand.New(rand.NewPCG(1, 1))}, integrators: 1, workers: 8, records: 20000}
		}},
		{name: "no limit, no faults, 50ms", minRatio: 0.95, setup: func(uint64) simSetup {
			return simSetup{crm: &randomCRM{rng: rand.New(rand.NewPCG(1, 1))}, integrators: 1, workers: 8, records: 3200, latency: 50 * time.Millisecond}
		}},
		{name: "flaky, 1 integrator", minRatio: 0.9, setup: func(seed uint64) simSetup {
			return simSetup{crm: flaky(seed, nil), integrators: 1, workers: 8, records: 3000, latency: 0, jitter: 3 * time.Millisecond}
		}},
		{name: "flaky, 2 integrators", minRatio: 0.9, setup: func(seed uint64) simSetup {
			return simSetup{crm: flaky(seed, nil), integrators: 2, workers: 8, records: 3000, jitter: 3 * time.Millisecond}
		}},
		{name: "10% 429 without Retry-After, 50ms", minRatio: 0.9,
			open: "0.94-0.98 in 8 seeds of 10, 0.88 and 0.89 in seeds 2 and 8, 0.82-0.88 in 4 seeds of 60: throttles answer first, and the start pauses on them; a deeper cut's test reads a limit by chance", setup: func(seed uint64) simSetup {
				return simSetup{crm: &randomCRM{share: 0.1, rng: rand.New(rand.NewPCG(seed, 3))}, integrators: 1, workers: 8, records: 3000,
					latency: 50 * time.Millisecond, noRetryAfter: true}
			}},
		// Random refusals at a share no cell of the matrix has
		// (an audit met them: `httpapi RATE_LIMIT_RATE=0.5`): before the
		// round's early end asked for three quarters throttled beyond the
		// noise, these took the rate to the floor, 0.00-0.01 and 0.20-0.70
		// of pacing off.
		{name: "50% 429 with Retry-After 1s, 2ms", minRatio: 0.9, open: "0.72-0.77: learning the noise takes about 6 s at low rates, then each test of it costs a few more", setup: func(seed uint64) simSetup {
			return simSetup{crm: &randomCRM{share: 0.5, rng: rand.New(rand.NewPCG(seed, 3))}, integrators: 1, workers: 8, records: 20000,
				latency: 2 * time.Millisecond, retryAfter: time.Second}
		}},
		{name: "30% 429 with Retry-After 1s, 2ms", minRatio: 0.9, open: "0.75-1.00 (0.96-1.00 in 5 seeds of 6)", setup: func(seed uint64) simSetup {
			return simSetup{crm: &randomCRM{share: 0.3, rng: rand.New(rand.NewPCG(seed, 3))}, integrators: 1, workers: 8, records: 20000,
				latency: 2 * time.Millisecond, retryAfter: time.Second}
		}},
		{name: "bucket 300/s burst 30 with the flaky faults", limit: 300, minRatio: 0.8, maxRefused: 0.10,
			open: "0.82-0.86 (a client fixed at R: 0.91-0.97): random 429s under the limit make cuts slow to tell the limit from the noise", setup: func(seed uint64) simSetup {
				// 2% of 300/s hanging 2 s hold 12 workers: 8 cannot reach R.
				// 24,000 records: the last ones' retries trail the rest by
				// a few seconds, whatever the pacing; with 6,000 a client
				// fixed at R measured 0.80-0.91 of R, with 24,000 0.91-0.97.
				return simSetup{crm: flaky(seed, newBucketCRM(300, 30)), integrators: 1, workers: 32, records: 24000, jitter: 3 * time.Millisecond}
			}},
		{name: "bucket 300/s burst 30 with the flaky faults, MAX_RATE", limit: 300, minRatio: 0.95, maxRefused: 0.01,
			open: "0.88-0.95 (a client fixed at R: 0.91-0.97): as the noise learnt fades, random 429s start a test of the limit every 10-30 s", setup: func(seed uint64) simSetup {
				return simSetup{crm: flaky(seed, newBucketCRM(300, 30)), integrators: 1, workers: 32, maxRate: 300, records: 24000, jitter: 3 * time.Millisecond}
			}},
		windowCell(0),
		windowCell(15),
		// HubSpot's window, announced as a rate: another client of the same
		// app spent all but 20 of the first window. The best run spends
		// the first window's 20, then 1,000 a window: 0.75 of the rate.
		{name: "HubSpot window 1000 per 10 s, 980 spent by another", limit: 100, minRatio: 0.7, maxRefused: 0.05, setup: func(uint64) simSetup {
			return simSetup{crm: &windowCRM{hubspot: true, start: simT0, window: 10 * time.Second, limit: 1000, n: 980},
				integrators: 1, workers: 8, records: 3000, latency: 2 * time.Millisecond, noRetryAfter: true}
		}},
		// An outage of 5 s (every request throttled) in a bucket of 500/s:
		// afterwards the law must come back to the limit it had found,
		// not find it again from nothing; the goal counts the outage in.
		{name: "bucket 500/s burst 50, a 5 s outage", limit: 500, minRatio: 0.75, maxRefused: 0.05,
			open: "0.65: sending resumes at what was taken since the last resume, outage included (284/s), and the cubic stays at that peak (309/s) for 20 s", setup: func(uint64) simSetup {
				return simSetup{crm: &outageCRM{from: simT0.Add(10 * time.Second), to: simT0.Add(15 * time.Second), next: newBucketCRM(500, 50)},
					integrators: 1, workers: 8, records: 20000, latency: 2 * time.Millisecond}
			}},
	}
	for _, r := range []float64{20, 100, 500} {
		for _, lat := range []time.Duration{2 * time.Millisecond, 50 * time.Millisecond} {
			cells = append(cells, bucketCell(r, max(int(r/10), 1), lat, 1, 0), bucketCell(r, max(int(r/10), 1), lat, 1, r))
		}
	}
	cells = append(cells, bucketCell(100, 1, 2*time.Millisecond, 1, 0), bucketCell(100, 1, 2*time.Millisecond, 1, 100))
	for _, r := range []float64{100, 500} {
		for _, n := range []int{2, 3} {
			cells = append(cells, bucketCell(r, int(r/10), 2*time.Millisecond, n, 0))
		}
	}
	return cells
}

// TestPaceSimulatedMatrix runs every cell of the pacing matrix against
// the law on a simulated clock, with three seeds each (PACE_SEEDS sets
// how many), and checks its goal: the accepted rate against the allowed
// rate or against the same CRM without pacing, and the share refused.
func TestPaceSimulatedMatrix(t *testing.T) {
	var table strings.Builder
	for _, c := range simMatrix() {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(1); seed <= simSeeds(); seed++ {
				// run simulates the cell's setup for seed, changed by
				// edit: the law's run, or a reference's.
				run := func(edit func(*simSetup)) (simSetup, simResult) {
					s := c.setupFor(seed)
					edit(&s)
					return s, simulate(s, simT0)
				}
				fixedAtR := func(s *simSetup) { s.fixed, s.maxRate = true, c.limit }
				s, r := run(func(*simSetup) {})
				ref := c.limit
				if ref == 0 {
					u, ur := run(func(u *simSetup) { u.unpaced = true })
					ref = ur.acceptedRate(u.records)
				}
				ratio := r.acceptedRate(s.records) / ref
				refused := r.refusedShare()
				var fixed string
				if b, ok := s.crm.(*bucketCRM); ok && b.lim.Burst() == 1 {
					f, fr := run(fixedAtR)
					fixed = fmt.Sprintf("  (a client fixed at R: %.2f, %.1f%% refused)", fr.acceptedRate(f.records)/c.limit, 100*fr.refusedShare())
				}
				if _, ok := s.crm.(*randomCRM); ok && c.limit > 0 {
					ratio, refused = admitted(s, r, ref)
					f, fr := run(fixedAtR)
					best, _ := admitted(f, fr, ref)
					fixed = fmt.Sprintf("  (a client fixed at R: %.2f)", best)
				}
				fmt.Fprintf(&table, "%-50s seed %d: %7.1f/s  ratio %.2f  refused %5.2f%%  by integrator %v%s\n",
					c.name, seed, r.acceptedRate(s.records), ratio, 100*refused, r.acceptedBy, fixed)
				if c.open != "" {
					t.Logf("goal not met yet (%s): ratio %.2f, refused %.2f%%", c.open, ratio, 100*refused)
					continue
				}
				assert.GreaterOrEqual(t, ratio, c.minRatio, "seed %d", seed)
				if c.maxRefused > 0 {
					assert.LessOrEqual(t, refused, c.maxRefused, "seed %d", seed)
				}
				for i, n := range r.acceptedBy {
					assert.GreaterOrEqual(t, float64(n), c.minEach*float64(s.records), "seed %d, integrator %d", seed, i)
				}
			}
		})
	}
	t.Log("\n" + table.String())
}

// simSeeds is how many seeds each cell runs with: 3, or PACE_SEEDS.
func simSeeds() uint64 {
	n, err := strconv.ParseUint(os.Getenv("PACE_SEEDS"), 10, 64)
	if err != nil || n == 0 {
		return 3
	}
	return n
}

// admitted returns the share of ref the bucket behind the random faults
// of s admitted per second of run r, and the share of r's requests it
// refused.
func admitted(s simSetup, r simResult, ref float64) (ratio, refused float64) {
	lim := s.crm.(*randomCRM).next.(*bucketCRM)
	return float64(lim.admitted) / r.last.Sub(r.first).Seconds() / ref, float64(lim.refused) / float64(r.requests)
}

// TestPaceSimulatedTrace prints the law's changes in the cells named by
// PACE_TRACE (a substring), for tuning.
func TestPaceSimulatedTrace(t *testing.T) {
	name := os.Getenv("PACE_TRACE")
	if name == "" {
		t.Skip("PACE_TRACE names the cells to trace")
	}
	for _, c := range simMatrix() {
		if strings.Contains(c.name, name) {
			seed, _ := strconv.ParseUint(os.Getenv("PACE_SEED"), 10, 64)
			s := c.setupFor(max(seed, 1))
			s.trace = func(line string) { t.Log(line) }
			r := simulate(s, simT0)
			t.Logf("%s: %.1f/s, refused %.2f%%", c.name, r.acceptedRate(s.records), 100*r.refusedShare())
		}
	}
}

// Random refusals at a high share are not taken for a limit, even before
// their share is learnt: the open 50% and 30% cells fall short of their
// goal, but a round that ends early on them alone took the rate to the
// floor (0.00-0.01 and 0.20-0.70 of pacing off).
func TestPaceRandomRefusalsDoNotFloorTheRate(t *testing.T) {
	floors := map[string]float64{"50% 429 with Retry-After 1s, 2ms": 0.6, "30% 429 with Retry-After 1s, 2ms": 0.7}
	for _, c := range simMatrix() {
		floor, ok := floors[c.name]
		if !ok {
			continue
		}
		delete(floors, c.name)
		for seed := uint64(1); seed <= simSeeds(); seed++ {
			s := c.setupFor(seed)
			r := simulate(s, simT0)
			u := c.setupFor(seed)
			u.unpaced = true
			ur := simulate(u, simT0)
			ratio := r.acceptedRate(s.records) / ur.acceptedRate(u.records)
			assert.GreaterOrEqual(t, ratio, floor, "%s, seed %d", c.name, seed)
		}
	}
	assert.Empty(t, floors, "cells not in the matrix")
}

// Under a limit a test confirmed, throttles that come one a round, too
// few for any round to cut, still cut: counted since the last cut, they
// kept the rate about 10% above a bucket of 20/s for seconds at a time
// (refused up to 7.2% and 6.5% over these seeds; now 5.8% and 5.3%).
func TestPaceOneThrottleARoundIsNoLicence(t *testing.T) {
	for _, lat := range []time.Duration{2 * time.Millisecond, 50 * time.Millisecond} {
		c := bucketCell(20, 2, lat, 1, 0)
		for seed := uint64(1); seed <= 10; seed++ {
			r := simulate(c.setupFor(seed), simT0)
			assert.LessOrEqual(t, r.refusedShare(), 0.06, "%s, seed %d", c.name, seed)
		}
	}
}

// The flaky CRM of the second row is delivered to at 0.9 of
// pacing off or better in every one of 60 samples of its faults, not only
// in the few the matrix runs: with 60, two integrators fell to 0.76 in
// one (seed 60), a cut from a stall of hung workers (see
// TestPaceLawCutAfterAStallIsFromWhatWasTaken).
func TestPaceFlakyCRMOverManySeeds(t *testing.T) {
	for _, c := range simMatrix() {
		if !strings.HasPrefix(c.name, "flaky") {
			continue
		}
		for seed := uint64(1); seed <= 60; seed++ {
			s := c.setupFor(seed)
			r := simulate(s, simT0)
			u := c.setupFor(seed)
			u.unpaced = true
			ratio := r.acceptedRate(s.records) / simulate(u, simT0).acceptedRate(u.records)
			assert.GreaterOrEqual(t, ratio, 0.9, "%s, seed %d", c.name, seed)
		}
	}
}

// Integrators sharing a bucket tell each other the limit one found
// (common.LimitSharer, a second late here): refusals that do not fall when
// one alone slows down, as the others take what it leaves, are not taken
// for noise while a peer found them to be the limit's. Over these 60
// samples, taking them for noise let two sharing 100/s refuse up to 37%
// and three up to 22% (6 samples above 5%); now at most 6.8% and 10.8%,
// one sample each above 5%.
func TestPaceSharedLimitIsNotNoise(t *testing.T) {
	for _, n := range []int{2, 3} {
		c := bucketCell(100, 10, 2*time.Millisecond, n, 0)
		over := 0
		for seed := uint64(1); seed <= 60; seed++ {
			r := simulate(c.setupFor(seed), simT0)
			assert.LessOrEqual(t, r.refusedShare(), 0.12, "%s, seed %d", c.name, seed)
			if r.refusedShare() > 0.05 {
				over++
			}
		}
		assert.LessOrEqual(t, over, 2, "%s: samples refusing more than 5%%", c.name)
	}
}

// Two integrators sharing a bucket each deliver 30% of the records or
// more in every one of 60 samples: each raises its rate to the fair share
// of what they both take, told by the other (common.LimitSharer). Without
// it, the cubic brings each back to its own peak, and an early split
// stays: 23/77, 28/72 and 29/71 sharing 500/s, 29/71 sharing 100/s; with
// it, 45/55 and 38/62 at worst.
func TestPaceSharedFairly(t *testing.T) {
	for _, r := range []float64{100, 500} {
		c := bucketCell(r, int(r/10), 2*time.Millisecond, 2, 0)
		for seed := uint64(1); seed <= 60; seed++ {
			s := c.setupFor(seed)
			res := simulate(s, simT0)
			for i, n := range res.acceptedBy {
				assert.GreaterOrEqual(t, float64(n), 0.3*float64(s.records), "%s, seed %d, integrator %d", c.name, seed, i)
			}
		}
	}
}
