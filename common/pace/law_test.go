package pace

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// feed answers n requests started at t, one every gap: those for which
// throttle returns true are throttled, the others accepted. It returns the
// time after the last answer.
func feed(l *law, t time.Time, n int, gap time.Duration, throttle func(i int) bool) time.Time {
	for i := range n {
		tk, ok := l.start(t)
		if !ok {
			var d time.Duration
			tk, d, _ = l.reserve(t)
			t = t.Add(d)
		}
		o := paceAccepted
		if throttle(i) {
			o = paceThrottled
		}
		t = t.Add(gap)
		l.answer(t, tk, o, common.Budget{})
	}
	return t
}

func never(int) bool { return false }

func TestPaceLawQuietCRMIsNotPaced(t *testing.T) {
	l := newLaw(0, simT0)
	for i := range 1000 {
		tk, ok := l.start(simT0)
		require.True(t, ok)
		o := paceAccepted
		if i%3 == 0 {
			o = paceOther // a 500, a timeout: no reason to slow down
		}
		l.answer(simT0.Add(time.Millisecond), tk, o, common.Budget{})
		require.True(t, math.IsInf(l.limit(simT0), 1), "answer %d", i)
	}
	assert.False(t, l.active)
	assert.True(t, math.IsInf(l.limit(simT0), 1))
}

func TestPaceLawMaxRate(t *testing.T) {
	tests := []struct {
		rate      float64
		burst     int
		wantDelay time.Duration // of the request after the burst
	}{
		{rate: 2.5, burst: 1, wantDelay: 400 * time.Millisecond},
		{rate: 100, burst: 1, wantDelay: 10 * time.Millisecond},
		{rate: 500, burst: 4, wantDelay: 2 * time.Millisecond},
		{rate: 20000, burst: 4, wantDelay: 50 * time.Microsecond},
	}
	for _, tt := range tests {
		l := newLaw(tt.rate, simT0)
		assert.Equal(t, tt.rate, l.limit(simT0))
		at := simT0.Add(time.Second) // idle: the bucket is full
		for i := range tt.burst {
			_, ok := l.start(at)
			require.True(t, ok, "rate %v: start %d of the burst", tt.rate, i)
		}
		_, ok := l.start(at)
		require.False(t, ok, "rate %v: past the burst", tt.rate)
		_, d, _ := l.reserve(at)
		assert.Equal(t, tt.wantDelay, d, "rate %v", tt.rate)
		_, d, _ = l.reserve(at)
		assert.Equal(t, 2*tt.wantDelay, d, "rate %v: the one after", tt.rate)
	}
}

// TestPaceLawRaiseKeepsReservedStarts checks that starts reserved before
// a raise keep their times, and that the first start reserved after it
// comes at least one interval of the new limit after the last of them.
func TestPaceLawRaiseKeepsReservedStarts(t *testing.T) {
	l := newLaw(0, simT0)
	l.rate = 5 // as after a cut
	l.active, l.roundAt = true, simT0
	at := simT0.Add(time.Second)
	_, ok := l.start(at)
	require.True(t, ok)
	var last time.Duration
	for range 4 {
		_, last, _ = l.reserve(at)
	}
	require.Equal(t, 800*time.Millisecond, last, "four starts reserved at 5/s")
	l.rate = 10
	l.apply(at)
	require.Equal(t, 10.0, l.applied)
	_, next, _ := l.reserve(at)
	assert.GreaterOrEqual(t, next, last+100*time.Millisecond, "the next start at 10/s")
	assert.LessOrEqual(t, next, last+200*time.Millisecond, "at most one start lost")
}

// TestPaceLawRandomRefusalsAreNoise checks that a CRM throttling one
// request in five whatever the rate is not paced: the cuts that test it
// do not lower the share, so pacing stops and the share is learnt as
// noise, after which the same share cuts no more.
func TestPaceLawRandomRefusalsAreNoise(t *testing.T) {
	l := newLaw(0, simT0)
	fifth := func(i int) bool { return i%5 == 0 }
	at := feed(l, simT0, 30, 2500*time.Microsecond, fifth)
	require.NotNil(t, l.trial, "the first throttles are tested")
	require.False(t, math.IsInf(l.rate, 1))
	at = feed(l, at, 400, 2500*time.Microsecond, fifth)
	assert.True(t, math.IsInf(l.rate, 1), "no limit: cutting did not lower the share")
	assert.InDelta(t, 1.0/5, l.noise, 0.05)
	gen := l.gen
	feed(l, at, 2000, 2500*time.Microsecond, fifth)
	assert.Equal(t, gen, l.gen, "the noise cuts no more")
	assert.True(t, math.IsInf(l.rate, 1))
}

// TestPaceLawKeepsACutThatHelped checks that a cut after which the
// throttles stop is kept: a limit, confirmed.
func TestPaceLawKeepsACutThatHelped(t *testing.T) {
	l := newLaw(0, simT0)
	at := feed(l, simT0, 40, 2500*time.Microsecond, func(i int) bool { return i%3 == 0 })
	require.NotNil(t, l.trial)
	cut := l.rate
	require.Less(t, cut, 400.0, "below the 400/s sent")
	feed(l, at, 100, 5*time.Millisecond, never)
	assert.Nil(t, l.trial, "judged")
	assert.False(t, math.IsInf(l.rate, 1), "kept")
	assert.GreaterOrEqual(t, l.rate, cut)
}

// TestPaceLawPausesWhenNearlyAllAreRefused checks a spent quota: nothing
// starts during the pause, one probe at a time after it, a refused probe
// doubles the pause, and a probe taken resumes at what the CRM took since
// sending began, spread over the time since.
func TestPaceLawPausesWhenNearlyAllAreRefused(t *testing.T) {
	l := newLaw(0, simT0)
	at := feed(l, simT0, 10, time.Millisecond, never)
	for i := 0; !l.probing; i++ { // then none taken
		require.Less(t, i, 20, "paused")
		tk, ok := l.start(at)
		require.True(t, ok)
		at = at.Add(time.Millisecond)
		l.answer(at, tk, paceThrottled, common.Budget{})
	}
	_, ok := l.start(at)
	assert.False(t, ok, "paused")
	at = at.Add(pacePauseMin)
	probe, ok := l.start(at)
	require.True(t, ok, "one probe")
	_, ok = l.start(at)
	assert.False(t, ok, "one at a time")
	l.answer(at, probe, paceThrottled, common.Budget{})
	assert.Equal(t, 2*pacePauseMin, l.pauseFor, "a refused probe doubles the pause")
	at = at.Add(2 * pacePauseMin)
	probe, ok = l.start(at)
	require.True(t, ok)
	at = at.Add(time.Millisecond)
	l.answer(at, probe, paceAccepted, common.Budget{})
	require.False(t, l.probing, "resumed")
	took := 11 / at.Sub(simT0.Add(time.Millisecond)).Seconds() // 10 and the probe
	assert.InDelta(t, paceBackoff*took, l.rate, 0.1*took)
}

// TestPaceLawDoesNotRaiseAnIdleLimit checks that a limit that holds no
// request back is not raised: there is no evidence the CRM takes more.
func TestPaceLawDoesNotRaiseAnIdleLimit(t *testing.T) {
	l := newLaw(0, simT0)
	at := feed(l, simT0, 40, 2500*time.Millisecond/1000, func(i int) bool { return i%3 == 0 })
	at = feed(l, at, 100, 5*time.Millisecond, never) // the cut is kept
	require.False(t, math.IsInf(l.rate, 1))
	cut := l.rate
	for range 50 {
		at = at.Add(time.Second) // far slower than the limit
		tk, ok := l.start(at)
		require.True(t, ok)
		l.answer(at.Add(2*time.Millisecond), tk, paceAccepted, common.Budget{})
	}
	assert.Equal(t, cut, l.rate)
}

// TestPaceLawRaisesUpToMaxRate checks that after a cut, rounds of
// accepted requests held back by the limit raise it back, never above
// MAX_RATE.
func TestPaceLawRaisesUpToMaxRate(t *testing.T) {
	l := newLaw(100, simT0)
	at := feed(l, simT0, 40, 5*time.Millisecond, func(i int) bool { return i%3 == 0 })
	at = feed(l, at, 60, 10*time.Millisecond, never)
	cut := l.rate
	require.Less(t, cut, 100.0)
	last := cut
	for range 200 {
		at = feed(l, at, 10, time.Millisecond, never)
		assert.GreaterOrEqual(t, l.rate, last, "never lower without a throttle")
		assert.LessOrEqual(t, l.rate, 100.0)
		last = l.rate
	}
	assert.Equal(t, 100.0, l.rate)
}

func TestPaceLawBudget(t *testing.T) {
	tests := []struct {
		name      string
		b         common.Budget
		wantLimit float64 // just after the answer
		wantPause time.Duration
	}{
		{name: "spread until the reset", b: common.Budget{Known: true, Remaining: 10, Reset: 2 * time.Second}, wantLimit: 5},
		{name: "none left: nothing before the reset", b: common.Budget{Known: true, Remaining: 0, Reset: 2 * time.Second}, wantLimit: math.Inf(1), wantPause: 2 * time.Second},
		{name: "renewed now: ignored", b: common.Budget{Known: true, Remaining: 0, Reset: 0}, wantLimit: math.Inf(1)},
		{name: "none announced", b: common.Budget{}, wantLimit: math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLaw(0, simT0)
			tk, _ := l.start(simT0)
			l.answer(simT0, tk, paceAccepted, tt.b)
			assert.Equal(t, tt.wantLimit, l.limit(simT0))
			_, ok := l.start(simT0)
			assert.Equal(t, tt.wantPause == 0, ok)
			if tt.wantPause > 0 {
				_, d, _ := l.reserve(simT0)
				assert.Equal(t, tt.wantPause, d)
			}
			after := simT0.Add(2 * time.Second)
			_, ok = l.start(after)
			assert.True(t, ok, "after the reset")
			assert.True(t, math.IsInf(l.limit(after), 1), "the budget's ceiling ends at its reset")
		})
	}
}

// Workers held by requests that hang past the timeout leave a round few
// answers; when some of them are throttles beyond the noise, the cut of a
// rate without limit is from what the CRM took since sending resumed, not
// from the stall alone. From the stall, a flaky CRM's second integrator
// fell from about 70/s to 3.3/s and took 12 s to climb back (simulated
// matrix, 60 seeds: 0.76 of pacing off in one).
func TestPaceLawCutAfterAStallIsFromWhatWasTaken(t *testing.T) {
	l := newLaw(0, simT0)
	l.active, l.roundAt, l.noise = true, simT0, 0.05 // a flaky CRM's noise, learnt
	at := feed(l, simT0, 300, 10*time.Millisecond, never)
	require.True(t, math.IsInf(l.limit(at), 1), "100/s without a throttle")
	at = feed(l, at, 4, 500*time.Millisecond, func(i int) bool { return i > 0 })
	require.False(t, math.IsInf(l.limit(at), 1), "three throttles in four answers cut")
	assert.GreaterOrEqual(t, l.limit(at), 50.0, "the cut after 3 s at 100/s and a stall of 2 s")
}
