package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
)

func TestGoalString(t *testing.T) {
	tests := []struct {
		goal goal
		want string
	}{
		{goal{vsOff: true, min: 0.95}, ">= 0.95 off"},
		{goal{r: 100, min: 0.9, maxRefused: 0.05}, ">= 0.90 R, <= 5% refused"},
		{goal{r: 300, min: 0.8, maxRefused: 0.1, admitted: true}, "admitted >= 0.80 R, <= 10% refused"},
		{goal{r: 100, min: 0.9, maxRefused: 0.05, minShare: 0.3}, ">= 0.90 R, <= 5% refused, each >= 30%"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.goal.String())
		})
	}
}

func TestJudge(t *testing.T) {
	limitedCRM := cell{index: 7, name: "bucket", run: crmRun{n: 1000, crm: mockcrm.Config{RateLimitRPS: 100}},
		goal: goal{r: 100, min: 0.9, maxRefused: 0.05}}
	openCRM := cell{index: 2, name: "open", run: crmRun{n: 1000}, goal: goal{vsOff: true, min: 0.9}}
	admittedCRM := limitedCRM
	admittedCRM.goal.admitted = true
	shared := limitedCRM
	shared.goal.minShare = 0.3
	run := func(rate float64, requests, throttled, random429 int64) limited {
		return limited{rate: rate, span: 10 * time.Second, accepted: 1000, complete: true,
			st: mockcrm.Stats{Requests: requests, Throttled: throttled, Admitted: requests - throttled,
				Faults: mockcrm.FaultStats{RateLimited: random429}}}
	}
	ref := run(200, 1000, 0, 0)
	tests := []struct {
		name        string
		cell        cell
		m           limited
		ref         *limited
		wantRate    float64
		wantRatio   float64
		wantRefused float64
		wantResult  string
		wantNote    string
	}{
		{name: "at R", cell: limitedCRM, m: run(95, 1040, 40, 0), wantRate: 95, wantRatio: 0.95, wantRefused: 40.0 / 1040, wantResult: "PASS"},
		{name: "too slow", cell: limitedCRM, m: run(85, 1000, 0, 0), wantRate: 85, wantRatio: 0.85, wantResult: "FAIL"},
		{name: "too many refused", cell: limitedCRM, m: run(99, 1250, 250, 0), wantRate: 99, wantRatio: 0.99, wantRefused: 0.2, wantResult: "FAIL"},
		{name: "random 429s are not the limit's", cell: limitedCRM, m: run(95, 1250, 0, 250), wantRate: 95, wantRatio: 0.95, wantResult: "PASS"},
		{name: "without a limit every 429 is refused", cell: openCRM, m: run(190, 1250, 0, 250), ref: &ref,
			wantRate: 190, wantRatio: 0.95, wantRefused: 0.2, wantResult: "PASS"},
		{name: "slower than pacing off", cell: openCRM, m: run(100, 1000, 0, 0), ref: &ref, wantRate: 100, wantRatio: 0.5, wantResult: "FAIL"},
		{name: "no reference", cell: openCRM, m: run(100, 1000, 0, 0), wantRate: 100, wantResult: "FAIL"},
		{name: "admitted requests judged", cell: admittedCRM, m: run(60, 1000, 50, 0), wantRate: 95, wantRatio: 0.95, wantRefused: 0.05, wantResult: "PASS"},
		{name: "timed out", cell: limitedCRM, m: func() limited { m := run(95, 500, 0, 0); m.complete, m.accepted = false, 400; return m }(),
			wantRate: 95, wantRatio: 0.95, wantResult: "FAIL", wantNote: "timed out: 400 of 1000 accepted"},
		{name: "early retries", cell: limitedCRM, m: func() limited { m := run(95, 1000, 0, 0); m.early = 3; return m }(),
			wantRate: 95, wantRatio: 0.95, wantResult: "FAIL", wantNote: "3 retries before Retry-After"},
		{name: "shares even enough", cell: shared, m: func() limited { m := run(95, 1000, 0, 0); m.shares = []int64{600, 400}; return m }(),
			wantRate: 95, wantRatio: 0.95, wantResult: "PASS"},
		{name: "one integrator starved", cell: shared, m: func() limited { m := run(95, 1000, 0, 0); m.shares = []int64{800, 200}; return m }(),
			wantRate: 95, wantRatio: 0.95, wantResult: "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := judge(tt.cell, tt.m, tt.ref)
			assert.InDelta(t, tt.wantRate, r.rate, 1e-9)
			assert.InDelta(t, tt.wantRatio, r.ratio, 1e-9)
			assert.InDelta(t, tt.wantRefused, r.refused, 1e-9)
			assert.InDelta(t, float64(tt.m.st.Requests)/float64(tt.m.accepted), r.perCustomer, 1e-9)
			assert.Equal(t, tt.wantResult, r.result)
			if tt.wantNote != "" {
				assert.Contains(t, r.notes, tt.wantNote)
			}
			assert.Equal(t, tt.cell.goal.String(), r.goal)
		})
	}
}

func TestPrintPacing(t *testing.T) {
	c := cell{index: 3, name: "open", run: crmRun{n: 100}, goal: goal{vsOff: true, min: 0.9}}
	ref := limited{rate: 200, accepted: 100, complete: true, shares: []int64{50, 50}, st: mockcrm.Stats{Requests: 150}}
	slow := ref
	slow.rate = 100
	var out bytes.Buffer
	assert.True(t, printPacing(&out, []pacingRow{refRow(c, ref), judge(c, ref, &ref)}), "a reference row is not judged")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"#", "CELL", "RATE/s", "REFERENCE", "RATIO", "REFUSED", "REQ/CUST", "SHARES", "%", "GOAL", "RESULT"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"open,", "ADAPTIVE_RATE=false", "200.0", "-", "-", "0.0%", "1.50", "50/50", "-", "ref"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{"3", "open", "200.0", "off", "200/s", "1.000", "0.0%", "1.50", "50/50", ">=", "0.90", "off", "PASS"}, strings.Fields(lines[2]))

	out.Reset()
	assert.False(t, printPacing(&out, []pacingRow{judge(c, slow, &ref)}))
	assert.Contains(t, out.String(), "FAIL")
}

func TestFixedRow(t *testing.T) {
	c := cell{index: 13, name: "bucket 300/s, faults", run: crmRun{n: 6000}, goal: goal{r: 300, min: 0.8, admitted: true}}
	m := limited{rate: 150, span: 20 * time.Second, accepted: 6000, complete: true, st: mockcrm.Stats{Requests: 5400, Admitted: 5400}}
	r := fixedRow(c, m)
	assert.Equal(t, "bucket 300/s, faults, ADAPTIVE_RATE=false MAX_RATE=300", r.name)
	assert.Equal(t, "ref", r.result, "printed, not judged")
	assert.InDelta(t, 270, r.rate, 1e-9, "the admitted requests per second")
	assert.InDelta(t, 0.9, r.ratio, 1e-9)
	assert.Equal(t, "R 300/s", r.ref)
}

func TestSelectCells(t *testing.T) {
	cells := matrix()
	names := func(cs []cell) []int {
		var idx []int
		for _, c := range cs {
			idx = append(idx, c.index)
		}
		return idx
	}
	tests := []struct {
		filter  string
		want    []int
		wantErr bool
	}{
		{filter: "", want: names(cells)},
		{filter: "3", want: []int{3}},
		{filter: "6-8, 1", want: []int{1, 6, 7, 8}},
		{filter: "WINDOW", want: []int{14, 27}},
		{filter: "window,max_rate=15", want: []int{14, 27}},
		{filter: "integrators", want: []int{4, 15, 16, 17, 18}},
		{filter: "nothing like it", wantErr: true},
		{filter: "99", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			got, err := selectCells(cells, tt.filter)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, names(got))
		})
	}
}

// TestMatrix checks the cells against the table: 5 without a
// limit judged against pacing off, 9 limited alone, 4 shared, and the 9
// limited alone again with MAX_RATE=R.
func TestMatrix(t *testing.T) {
	cells := matrix()
	require.Len(t, cells, 27)
	seen := map[string]bool{}
	for i, c := range cells {
		assert.Equal(t, i+1, c.index)
		assert.Equal(t, uint64(i+1), c.run.crm.Seed, "each cell's runs meet the faults of its own seed: %s", c.name)
		assert.False(t, seen[c.name], "cell names are unique: %s", c.name)
		seen[c.name] = true
		assert.Equal(t, i < 5, c.goal.vsOff, c.name)
		assert.Equal(t, !c.goal.vsOff, c.limited(), c.name)
		assert.Positive(t, c.run.n, c.name)
		assert.Positive(t, c.run.workers, c.name)
		if !c.goal.vsOff {
			assert.Greater(t, c.run.timeout, time.Duration(float64(c.run.n)/c.goal.r*float64(time.Second)), c.name)
		}
		maxRate := strings.Contains(c.name, "MAX_RATE")
		assert.Equal(t, i >= 18, maxRate, c.name)
		if maxRate {
			assert.Equal(t, 0.95, c.goal.min)
			assert.Equal(t, 0.01, c.goal.maxRefused)
			assert.Contains(t, c.run.env, c.name[strings.LastIndex(c.name, "MAX_RATE="):])
		}
	}
	assert.Equal(t, 2, cells[3].run.integrators)
	assert.Equal(t, 0.3, cells[14].goal.minShare, "with 2 integrators, neither below 30%")
	assert.Zero(t, cells[15].goal.minShare)
	assert.True(t, cells[12].goal.admitted)
}
