package pace

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// fakeClock is a clock whose sleeps pass at once, moving it on.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
	// block, if set, makes sleeps call it, then wait for the context.
	block func()
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	block := c.block
	if block == nil {
		c.t = c.t.Add(d)
	}
	c.mu.Unlock()
	if block != nil {
		block()
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// paceObserver records what a Pacer reports.
type paceObserver struct {
	mu    sync.Mutex
	rates []float64
	in    []int
}

func (o *paceObserver) Pace(rate float64, inFlight int) {
	o.mu.Lock()
	o.rates = append(o.rates, rate)
	o.in = append(o.in, inFlight)
	o.mu.Unlock()
}

func TestPacerQuietCRMFastPath(t *testing.T) {
	clk := &fakeClock{t: simT0}
	obs := &paceObserver{}
	p := newPacer(Config{Workers: 8, Observer: obs}, clk.now, clk.sleep)
	for range 100 {
		tk, err := p.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, Start{}, tk)
		p.Done(tk, nil, common.Budget{})
		p.Done(tk, common.StatusError(500, 0), common.Budget{})
	}
	assert.False(t, p.active.Load())
	assert.Empty(t, clk.slept)
	assert.Equal(t, 0.0, limitOf(p))
	assert.Equal(t, []float64{0}, obs.rates, "the limits at start: none")
	assert.Equal(t, []int{8}, obs.in)
}

func TestPacerWaitCancelled(t *testing.T) {
	clk := &fakeClock{t: simT0}
	p := newPacer(Config{MaxRate: 1}, clk.now, clk.sleep)
	_, err := p.Wait(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	clk.block = cancel // the caller gives up while it waits
	_, err = p.Wait(ctx)
	require.ErrorIs(t, err, context.Canceled)
	clk.block = nil
	_, err = p.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second, time.Second}, clk.slept, "the cancelled wait gave its start back")
}

func TestPacerReportsAndLogsLargeSteps(t *testing.T) {
	clk := &fakeClock{t: simT0}
	obs := &paceObserver{}
	var logs bytes.Buffer
	p := newPacer(Config{Workers: 4, Observer: obs, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, clk.now, clk.sleep)
	// A CRM that takes 10 requests per 100 ms, sent at 400/s.
	taken := map[int64]int{}
	for i := range 2000 {
		tk, err := p.Wait(context.Background())
		require.NoError(t, err)
		clk.mu.Lock()
		clk.t = clk.t.Add(2500 * time.Microsecond)
		clk.mu.Unlock()
		var perr *common.PublishError
		if w := clk.t.UnixMilli() / 100; taken[w] >= 10 {
			perr = common.StatusError(429, time.Second)
		} else {
			taken[w]++
		}
		_ = i
		p.Done(tk, perr, common.Budget{})
	}
	require.Greater(t, limitOf(p), 0.0)
	require.NotEmpty(t, obs.rates)
	assert.Equal(t, limitOf(p), obs.rates[len(obs.rates)-1])
	assert.Equal(t, 4, obs.in[len(obs.in)-1])
	lines := strings.Count(logs.String(), "pacing requests to the CRM")
	assert.GreaterOrEqual(t, lines, 1, logs.String())
	assert.Less(t, lines, len(obs.rates), "only the large steps are logged:\n%s", logs.String())
	assert.NotContains(t, logs.String(), "pacing off")
	// Each line is a step of at least a factor of two from the last one
	// logged (previous=0: none was).
	for _, m := range regexp.MustCompile(`max_per_second=(\S+) previous=(\S+)`).FindAllStringSubmatch(logs.String(), -1) {
		lim, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		prev, err := strconv.ParseFloat(m[2], 64)
		require.NoError(t, err)
		assert.True(t, prev == 0 || lim <= prev/2 || lim >= 2*prev, "a small step logged: %s", m[0])
	}
}

func TestPacerThrottledKinds(t *testing.T) {
	tests := []struct {
		name   string
		err    *common.PublishError
		active bool
	}{
		{"429", common.StatusError(429, time.Second), true},
		{"503 with Retry-After", common.StatusError(503, time.Second), true},
		{"503 without", common.StatusError(503, 0), false},
		{"500", common.StatusError(500, 0), false},
		{"timeout", common.TimeoutError(context.DeadlineExceeded), false},
		{"other", common.AsPublishError(errors.New("boom")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Config{})
			p.Done(Start{}, tt.err, common.Budget{})
			assert.Equal(t, tt.active, p.active.Load())
		})
	}
}

// TestPacerReportsTheEndOfABudget checks that the gauge follows the limit
// when an announced budget's ceiling ends at its reset, which happens as
// a request starts, not as an answer comes.
func TestPacerReportsTheEndOfABudget(t *testing.T) {
	clk := &fakeClock{t: simT0}
	obs := &paceObserver{}
	var logs bytes.Buffer
	p := newPacer(Config{Workers: 2, Observer: obs, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, clk.now, clk.sleep)
	tk, err := p.Wait(context.Background())
	require.NoError(t, err)
	p.Done(tk, nil, common.Budget{Known: true, Remaining: 10, Reset: 2 * time.Second})
	require.Equal(t, []float64{0, 5}, obs.rates, "no limit, then the budget's")
	clk.mu.Lock()
	clk.t = clk.t.Add(3 * time.Second) // past the reset
	clk.mu.Unlock()
	tk, err = p.Wait(context.Background())
	require.NoError(t, err)
	p.Done(tk, nil, common.Budget{})
	assert.Equal(t, 0.0, limitOf(p))
	assert.Equal(t, []float64{0, 5, 0}, obs.rates, "the ceiling's end reported")
	assert.Contains(t, logs.String(), "pacing off")
}

// limitOf returns the limit p has in force, in requests per second; 0 for
// none.
func limitOf(p *Pacer) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return perSecond(p.law.limit(p.now()))
}

// TestPacerPausesForAQuota checks a throttle asking for a minute or more:
// no request starts before it passes, whatever else answers, one line
// says until when, and a shorter wait pauses nothing.
func TestPacerPausesForAQuota(t *testing.T) {
	tests := []struct {
		name      string
		err       *common.PublishError
		b         common.Budget
		wantPause time.Duration
	}{
		{"429 with Retry-After 2h", common.StatusError(429, 2*time.Hour), common.Budget{}, 2 * time.Hour},
		{"503 with Retry-After 60s", common.StatusError(503, time.Minute), common.Budget{}, time.Minute},
		{"a spent budget renewed in 5m", common.StatusError(429, time.Second), common.Budget{Known: true, Remaining: 0, Reset: 5 * time.Minute}, 5 * time.Minute},
		{"429 with Retry-After 59s", common.StatusError(429, 59*time.Second), common.Budget{}, 0},
		{"429 with Retry-After 2 days", common.StatusError(429, 48*time.Hour), common.Budget{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: simT0}
			var logs bytes.Buffer
			var quota []time.Time
			p := newPacer(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), OnQuota: func(u time.Time) { quota = append(quota, u) }}, clk.now, clk.sleep)
			p.Done(Start{}, tt.err, tt.b)
			p.Done(Start{}, tt.err, tt.b)         // another request in flight: one line
			p.Done(Start{}, nil, common.Budget{}) // an answer to a request sent before
			_, err := p.Wait(context.Background())
			require.NoError(t, err)
			if tt.wantPause == 0 {
				assert.Empty(t, clk.slept, "no pause")
				assert.Empty(t, quota)
				assert.NotContains(t, logs.String(), "quota")
				return
			}
			var slept time.Duration
			for _, d := range clk.slept {
				slept += d
			}
			assert.Equal(t, tt.wantPause, slept, "the first request waits for the quota's renewal")
			assert.Equal(t, []time.Time{simT0.Add(tt.wantPause)}, quota[:1])
			assert.Equal(t, 1, strings.Count(logs.String(), "quota is spent"), logs.String())
			assert.Contains(t, logs.String(), "until="+simT0.Add(tt.wantPause).Format(time.RFC3339))
		})
	}
}

// A quota pause that a later answer extends says so, with the new end:
// the one line it had named the first, earlier end, while the pause and
// the status ran to the later one.
func TestPacerLogsAQuotaPauseExtended(t *testing.T) {
	clk := &fakeClock{t: simT0}
	var logs bytes.Buffer
	p := newPacer(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, clk.now, clk.sleep)
	p.Done(Start{}, common.StatusError(429, 61*time.Second), common.Budget{})
	p.Done(Start{}, common.StatusError(429, 61*time.Second), common.Budget{}) // the same end: no line
	p.Done(Start{}, common.StatusError(429, 120*time.Second), common.Budget{})
	assert.Equal(t, 1, strings.Count(logs.String(), "quota is spent"), logs.String())
	assert.Equal(t, 1, strings.Count(logs.String(), "quota pause is extended"), logs.String())
	assert.Contains(t, logs.String(), "until="+simT0.Add(120*time.Second).Format(time.RFC3339))
}

// What a Pacer tells a LimitSharer is the rate the CRM takes of its
// requests now, found or not; the peers' rates it is told make the fair
// share of the limit, with its own rate, until no peer is limited.
func TestPacerSharesTheRateTaken(t *testing.T) {
	clk := &fakeClock{t: simT0}
	p := newPacer(Config{Workers: 8}, clk.now, clk.sleep)
	for range 150 { // 50 a second for 3 s
		require.NoError(t, clk.sleep(context.Background(), 20*time.Millisecond))
		p.Done(Start{}, nil, common.Budget{})
	}
	taken, found := p.FoundLimit()
	assert.InDelta(t, 50, taken, 2)
	assert.False(t, found, "no test ran")

	p.SetPeerLimits([]float64{150})
	p.mu.Lock()
	assert.True(t, p.law.peerLimited)
	assert.InDelta(t, 100, p.law.fair, 2, "(50 + 150) / 2")
	p.mu.Unlock()
	p.SetPeerLimits(nil)
	p.mu.Lock()
	assert.False(t, p.law.peerLimited)
	assert.Zero(t, p.law.fair)
	p.mu.Unlock()
}
