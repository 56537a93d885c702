package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"goquiz/impl/mockcrm"
)

// The pacing matrix of issue 21: each cell is a CRM shape, the integrator
// settings it is delivered with, and the goal it must reach.

// flakyEnv is the integrator's regime for the flaky CRMs, as measured in
// the issue.
var flakyEnv = []string{"REQUEST_TIMEOUT=2s", "RETRY_DELAY=50ms", "RETRY_MAX_DELAY=1s"}

// faults are the random faults of the second row: 30% 500, 5% 429
// with "Retry-After: 1", 2% hangs past REQUEST_TIMEOUT (2s; the client
// leaves, the mock answers 503), 0-3 ms of latency.
func faults() mockcrm.Config {
	return mockcrm.Config{FailRate: 0.3, RateLimitRate: 0.05, RetryAfter: time.Second,
		HangRate: 0.02, HangFor: 10 * time.Second, LatencyJitter: 3 * time.Millisecond}
}

// cell is one cell of the pacing matrix.
type cell struct {
	index int // 1-based, stable whatever -cells selects
	name  string
	run   crmRun
	goal  goal
}

// limited reports whether the cell's CRM has a rate limit.
func (c cell) limited() bool {
	return c.run.crm.RateLimitRPS > 0 || c.run.crm.RateLimitWindow > 0
}

// bucket returns a token bucket of r requests per second, burst burst, and
// latency.
func bucket(r float64, burst int, latency time.Duration) mockcrm.Config {
	return mockcrm.Config{RateLimitRPS: r, RateLimitBurst: burst, Latency: latency}
}

// atGoal returns the timeout of a run of n records judged against the
// rate r×min: half as long again as the goal allows, and 15 s, so that a
// run slower than two thirds of its goal is cut short, and FAILs.
func atGoal(n int64, r, min float64) time.Duration {
	return time.Duration(1.5*float64(n)/(r*min)*float64(time.Second)) + 15*time.Second
}

// limitedCell returns a cell judged against the allowed rate r.
func limitedCell(name string, n int64, integrators, workers int, crm mockcrm.Config, env []string, g goal) cell {
	return cell{name: name, goal: g, run: crmRun{n: n, integrators: integrators, workers: workers, crm: crm, env: env,
		timeout: atGoal(n, g.r, g.min)}}
}

// matrix returns every cell, in the order, numbered. Record counts
// give limited cells 25 to 40 s of delivery at R (2 minutes behind random
// faults, below); the first request to the
// last acceptance of a fixed window of w requests spans one window less
// than the windows used, so its n is a multiple of w plus one.
func matrix() []cell {
	off := func(min float64) goal { return goal{vsOff: true, min: min} }
	cells := []cell{
		{name: "no limit, no faults, 2 ms", goal: off(0.95),
			run: crmRun{n: 20_000, integrators: 1, workers: 8, crm: mockcrm.Config{Latency: 2 * time.Millisecond}}},
		{name: "no limit, no faults, 50 ms", goal: off(0.95),
			run: crmRun{n: 3_200, integrators: 1, workers: 8, crm: mockcrm.Config{Latency: 50 * time.Millisecond}}},
		{name: "no limit, faults, 0-3 ms, 1 integrator", goal: off(0.9),
			run: crmRun{n: 3_000, integrators: 1, workers: 8, crm: faults(), env: flakyEnv}},
		{name: "no limit, faults, 0-3 ms, 2 integrators", goal: off(0.9),
			run: crmRun{n: 3_000, integrators: 2, workers: 8, crm: faults(), env: flakyEnv}},
		{name: "no limit, 10% 429 without Retry-After, 50 ms", goal: off(0.9),
			run: crmRun{n: 3_000, integrators: 1, workers: 8, env: flakyEnv,
				crm: mockcrm.Config{RateLimitRate: 0.1, OmitRetryAfter: true, Latency: 50 * time.Millisecond}}},
	}
	var limitedAlone []cell // the cells run again with MAX_RATE=R
	for _, r := range []struct {
		r       float64
		n       int64
		workers [2]int // at 2 ms, at 50 ms: enough in flight for 2.5 R
	}{{20, 500, [2]int{8, 8}}, {100, 3_000, [2]int{8, 16}}, {500, 15_000, [2]int{8, 64}}} {
		for i, lat := range []time.Duration{2 * time.Millisecond, 50 * time.Millisecond} {
			burst := max(int(r.r/10), 1)
			name := fmt.Sprintf("bucket %g/s burst %d, %d ms", r.r, burst, lat.Milliseconds())
			if r.workers[i] != 8 {
				name += ", WORKERS=" + strconv.Itoa(r.workers[i])
			}
			limitedAlone = append(limitedAlone, limitedCell(name, r.n, 1, r.workers[i], bucket(r.r, burst, lat), nil,
				goal{r: r.r, min: 0.9, maxRefused: 0.05}))
		}
	}
	withFaults := faults()
	withFaults.RateLimitRPS, withFaults.RateLimitBurst = 300, 30
	limitedAlone = append(limitedAlone,
		limitedCell("bucket 100/s burst 1, 2 ms", 3_000, 1, 8, bucket(100, 1, 2*time.Millisecond), nil,
			goal{r: 100, min: 0.8, maxRefused: 0.1}),
		// WORKERS=8 cannot reach 300/s here: each 2% hang holds a worker 2 s.
		// 24,000 records, 2 minutes: the last records' retries trail the
		// rest by 3-5 s whatever the pacing; over the 30 s of 6,000 they
		// held a client fixed at R to 0.83-0.90 of R, over 2 minutes 0.96.
		limitedCell("bucket 300/s burst 30, faults, 0-3 ms, WORKERS=32", 24_000, 1, 32, withFaults, flakyEnv,
			goal{r: 300, min: 0.8, maxRefused: 0.1, admitted: true}),
		limitedCell("window 150 per 10s, no Retry-After, 2 ms", 601, 1, 8,
			mockcrm.Config{RateLimitWindow: 10 * time.Second, RateLimitWindowMax: 150, Latency: 2 * time.Millisecond}, nil,
			goal{r: 15, min: 0.8, maxRefused: 0.1}),
	)
	cells = append(cells, limitedAlone...)
	for _, r := range []struct {
		r float64
		n int64
	}{{100, 3_000}, {500, 15_000}} {
		for _, k := range []int{2, 3} {
			g := goal{r: r.r, min: 0.9, maxRefused: 0.05}
			if k == 2 {
				g.minShare = 0.3
			}
			burst := int(r.r / 10)
			cells = append(cells, limitedCell(fmt.Sprintf("bucket %g/s burst %d, 2 ms, %d integrators", r.r, burst, k),
				r.n, k, 8, bucket(r.r, burst, 2*time.Millisecond), nil, g))
		}
	}
	for _, c := range limitedAlone {
		g := c.goal
		g.min, g.maxRefused = 0.95, 0.01
		rate := strconv.FormatFloat(g.r, 'g', -1, 64)
		cells = append(cells, limitedCell(c.name+", MAX_RATE="+rate, c.run.n, 1, c.run.workers, c.run.crm,
			append(slices.Clone(c.run.env), "MAX_RATE="+rate), g))
	}
	for i := range cells {
		// Every run of a cell (pacing off, fixed at R, the law) meets the
		// same faults, request by request: the ratio compares the law with
		// its reference, not two samples of the faults (unseeded, two runs
		// of cell 3 with the same law measured 0.83 and 1.16 of pacing off).
		cells[i].index, cells[i].run.crm.Seed = i+1, uint64(i+1)
	}
	return cells
}

// pacingMatrix runs the cells of the matrix filter selects (see selectCells)
// and prints their table; it reports whether every cell passed.
func (b *bench) pacingMatrix(ctx context.Context, filter string) (bool, error) {
	cells, err := selectCells(matrix(), filter)
	if err != nil {
		return false, err
	}
	for i := range cells {
		cells[i].run.crm.Seed += 1000 * b.seed
	}
	start := time.Now()
	var rows []pacingRow
	for _, c := range cells {
		var ref *limited
		if c.goal.vsOff {
			r := c.run
			r.env = append(slices.Clone(r.env), "ADAPTIVE_RATE=false")
			r.timeout = 3 * time.Minute
			m, err := b.deliverTo(ctx, r)
			if err != nil {
				return false, fmt.Errorf("cell %d (%s), pacing off: %w", c.index, c.name, err)
			}
			ref = &m
			rows = append(rows, refRow(c, m))
			b.logf("%s", rows[len(rows)-1].log())
			c.run.timeout = atGoal(m.accepted, m.rate, c.goal.min)
		}
		if c.goal.admitted || c.run.crm.RateLimitBurst == 1 {
			// Behind random faults the last records' retries trail the
			// rest, and a bucket without burst refuses a request that
			// arrives a little early: a client that knows R shows what
			// the measure, or the bucket, allows.
			r := c.run
			r.env = append(slices.Clone(r.env), "ADAPTIVE_RATE=false", fmt.Sprintf("MAX_RATE=%g", c.goal.r))
			m, err := b.deliverTo(ctx, r)
			if err != nil {
				return false, fmt.Errorf("cell %d (%s), pacing fixed at R: %w", c.index, c.name, err)
			}
			rows = append(rows, fixedRow(c, m))
			b.logf("%s", rows[len(rows)-1].log())
		}
		m, err := b.deliverTo(ctx, c.run)
		if err != nil {
			return false, fmt.Errorf("cell %d (%s): %w", c.index, c.name, err)
		}
		rows = append(rows, judge(c, m, ref))
		b.logf("%s", rows[len(rows)-1].log())
	}
	fmt.Printf("goquiz pacing matrix: %d of %d cells, %s, %d CPUs, %s, took %s\n", len(cells), len(matrix()),
		start.UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), time.Since(start).Round(time.Second))
	fmt.Printf("faults: 30%% 500, 5%% 429 Retry-After: 1, 2%% hangs past REQUEST_TIMEOUT, seed %d×1000 + the cell's number; flaky cells: REQUEST_TIMEOUT=2s RETRY_DELAY=50ms RETRY_MAX_DELAY=1s; WORKERS=8 unless named\n", b.seed)
	return printPacing(os.Stdout, rows), nil
}
