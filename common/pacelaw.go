package common

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The constants of the pacing law (see paceLaw).
const (
	// paceMinRound is the shortest round: a round lasts at least this
	// and two round trips, and until it holds paceRoundAnswers answers
	// (or paceMaxWait passed). paceRushAnswers answers to requests sent
	// since the last cut, most of them throttled, end a round at once:
	// the rate is far too high.
	paceMinRound     = 50 * time.Millisecond
	paceRoundAnswers = 10
	paceMaxWait      = time.Second
	paceRushAnswers  = 8
	// paceBackoff is the cut: a throttled round sets the rate to this
	// share of what the CRM accepted in it.
	paceBackoff = 0.9
	// paceHeavy is the throttled share of a round above which a cut is
	// heavy: made at once, even while the last cut is being judged.
	paceHeavy = 0.2
	// paceJudgeAnswers answers to requests sent after a light cut (or
	// paceJudgeFor, whichever comes first) tell whether it lowered the
	// throttled share of the paceRecentAnswers answers before it. After
	// paceFutileCuts light cuts in a row that did not, they are undone
	// and the share they left is learnt as noise, forgotten with a half
	// life of paceNoiseHalfLife.
	paceJudgeAnswers  = 100
	paceJudgeFor      = 2 * time.Second
	paceRecentAnswers = 200
	paceFutileCuts    = 3
	paceNoiseHalfLife = 10 * time.Second
	// paceRaise sets the step of a raise: paceRaise·√rate requests per
	// second per paceMinRound of the round, for up to paceRaiseRounds of
	// them (8/s at 500/s): more than in proportion to the rate at low
	// rates, less at high ones, so that integrators sharing a CRM
	// converge to equal shares. A step is at most paceMaxStep of the rate
	// (or paceMinStep requests per second, when more): at low rates a
	// round lasts a second or more, and a CRM with a small bucket refuses
	// half the requests of a rate a little above its own (simulated, 20/s
	// with a burst of 2: 17% refused without this bound, 5% with it).
	// Above the peak, after paceProbeRounds raises and paceProbeAfter
	// without a throttle, each step doubles, to find new room quickly;
	// doubling after four raises, as before, left 5.7% refused at 100/s
	// (burst 10) in simulation, against 3.1% now.
	paceRaise       = 0.36
	paceRaiseRounds = 4
	paceMaxStep     = 0.03
	paceMinStep     = 0.5
	paceProbeRounds = 8
	paceProbeAfter  = 2 * time.Second
	// paceBinding: a round raises the limit only if it held a request
	// back and the answers came at least at this share of it.
	paceBinding = 0.8
	// paceFloor is the lowest rate the law sets by itself (requests per
	// second); a MAX_RATE below it is the floor.
	paceFloor = 1.0
	// paceMaxBurst is the most requests the limiter lets start at once
	// (one per 10 ms of the limit, at least 1).
	paceMaxBurst = 4
	// paceWaiters is how many requests at most wait for a start at once
	// (the Pacer's gate).
	paceWaiters = 4
)

// paceOutcome is what the pacing law sees of an answer.
type paceOutcome uint8

const (
	paceOther     paceOutcome = iota // failed, but not a request to slow down
	paceAccepted                     // 2xx
	paceThrottled                    // 429, or 503 with Retry-After
)

// paceTicket is what a request took at its start, handed back with its
// answer.
type paceTicket struct {
	gen uint64    // the law's generation (cuts so far) at the start
	at  time.Time // the start; zero when the pacer was not active
}

// paceRound counts the answers of one round of the law.
type paceRound struct {
	at             time.Time
	ok, thr, other int  // answers in the round: accepted, throttled, failed otherwise
	okNew, thrNew  int  // of them, answers to requests sent since the last cut
	waited         bool // a request had to wait for the limit
}

// paceCut is the last cut, while it is judged.
type paceCut struct {
	at      time.Time
	share   float64 // the throttled share that made it
	before  float64 // the throttled share of the answers before it
	ok, thr int     // answers to requests sent after it
}

// paceLaw is the Pacer's control law, apart from any clock or lock: every
// method takes the time it acts at, so that tests drive it on a simulated
// clock.
//
// It moves a limit on the rate of request starts, once per round (at
// least two round trips and paceMinRound). Until the CRM first throttles
// (and without MAX_RATE) there is no limit. A round in which requests sent
// since the last cut were throttled cuts the limit (see cutTo) to
// paceBackoff of what the CRM took in the round, or of the limit when that
// was less; throttled requests sent before the last cut do not cut again,
// so that it cuts at most once per round trip. A round without throttles
// in which the requests went at the limit raises it by a step that grows
// as the square root of the rate (see paceRaise), back to the peak (about
// the rate the CRM last throttled) and on above it, after a while by
// doubling steps; MAX_RATE caps it. Light cuts that do not lower the
// throttled share (a CRM that refuses a few requests whatever the rate)
// are undone, and the share they left is tolerated from then on. An
// announced budget caps the limit at its remaining requests spread until
// its reset, and when none remain nothing starts before the reset.
type paceLaw struct {
	maxRate float64 // MAX_RATE; +Inf for none
	floor   float64
	lim     *rate.Limiter
	applied float64 // the limit set on lim

	active bool    // false until the CRM first throttled or announced a budget, without MAX_RATE
	rate   float64 // the adaptive limit; +Inf until the first cut
	peak   float64 // about the rate of the last cut (see cutTo)
	above  int     // raises in a row above peak
	// aboveSince is when the rate rose above peak since the last cut
	// (zero while it has not).
	aboveSince time.Time
	noise      float64 // throttled share that does not depend on the rate
	// recent is the throttled share of the last paceRecentAnswers
	// answers, smoothed.
	recent float64
	// futile counts the light cuts in a row that did not lower it, and
	// futileSum adds the throttled shares measured after them;
	// futileFrom is the rate before the first of them.
	futile     int
	futileSum  float64
	futileFrom float64

	ceiling      float64 // the announced budget's rate; +Inf for none
	ceilingUntil time.Time
	pausedUntil  time.Time // the budget ran out: nothing starts before

	gen   uint64
	round paceRound
	cut   *paceCut
	rtt   time.Duration // smoothed duration of accepted requests
}

// newPaceLaw returns the law for a cap of maxRate requests per second
// (0: none), its rounds starting at now.
func newPaceLaw(maxRate float64, now time.Time) *paceLaw {
	l := &paceLaw{maxRate: math.Inf(1), floor: paceFloor, rate: math.Inf(1), peak: math.Inf(1), ceiling: math.Inf(1), applied: math.Inf(1)}
	l.lim = rate.NewLimiter(rate.Inf, 1)
	if maxRate > 0 {
		l.maxRate, l.rate, l.peak = maxRate, maxRate, maxRate
		l.floor = min(paceFloor, maxRate)
		l.activate(now)
	}
	return l
}

// activate starts counting rounds.
func (l *paceLaw) activate(now time.Time) {
	if !l.active {
		l.active, l.gen = true, 1
		l.round = paceRound{at: now}
		l.apply(now)
	}
}

// answer takes in the answer at now to the request of tk, with the budget
// the CRM announced.
func (l *paceLaw) answer(now time.Time, tk paceTicket, o paceOutcome, b Budget) {
	if !l.active {
		if o != paceThrottled && !b.Known {
			return
		}
		l.activate(now)
		tk.gen = l.gen // evidence at the rate in force: none
	}
	if o == paceAccepted && !tk.at.IsZero() {
		if d := now.Sub(tk.at); l.rtt == 0 {
			l.rtt = d
		} else {
			l.rtt += (d - l.rtt) / 8
		}
	}
	isFresh := tk.gen == l.gen
	r := &l.round
	switch o {
	case paceAccepted:
		r.ok++
		if isFresh {
			r.okNew++
		}
	case paceThrottled:
		r.thr++
		if isFresh {
			r.thrNew++
		}
	default:
		r.other++
	}
	if o != paceOther {
		x := 0.0
		if o == paceThrottled {
			x = 1
		}
		l.recent += (x - l.recent) / paceRecentAnswers
	}
	if c := l.cut; c != nil && isFresh {
		switch o {
		case paceAccepted:
			c.ok++
		case paceThrottled:
			c.thr++
		}
	}
	l.budget(now, b)
	el := now.Sub(r.at)
	fresh := r.okNew + r.thrNew
	switch {
	case el >= max(paceMinRound, 2*l.rtt) && (r.ok+r.thr+r.other >= paceRoundAnswers || el >= paceMaxWait):
	case fresh >= paceRushAnswers && 2*r.thrNew > fresh: // most refused: no time to lose
	default:
		l.apply(now)
		return
	}
	l.decide(now, max(el, time.Microsecond))
	l.apply(now)
}

// decide ends the round at now, el after it began: it judges the last
// cut, then cuts, raises or holds the rate.
func (l *paceLaw) decide(now time.Time, el time.Duration) {
	r := l.round
	l.round = paceRound{at: now}
	l.noise *= math.Exp2(-el.Seconds() / paceNoiseHalfLife.Seconds())
	if c := l.cut; c != nil {
		if n := c.ok + c.thr; n >= paceJudgeAnswers || (n > 0 && now.Sub(c.at) >= paceJudgeFor) {
			l.cut = nil
			if share := float64(c.thr) / float64(n); c.share <= paceHeavy {
				if share < c.before/2 {
					l.futile, l.futileSum = 0, 0 // it helped
				} else if l.futile, l.futileSum = l.futile+1, l.futileSum+share; l.futile >= paceFutileCuts {
					// Cutting did not lower the throttled share: these
					// throttles are not about this rate. The share they
					// left is noise.
					l.noise = max(l.noise, l.futileSum/float64(l.futile))
					l.futile, l.futileSum = 0, 0
					l.rate = max(l.rate, l.futileFrom)
					return
				}
			}
		}
	}
	share := 0.0
	if n := r.okNew + r.thrNew; n > 0 {
		share = float64(r.thrNew) / float64(n)
	}
	// What the CRM took (accepted, or failed for another reason: a
	// rate limit counts those too), and all it answered.
	took := float64(r.ok+r.other) / el.Seconds()
	answered := float64(r.ok+r.thr+r.other) / el.Seconds()
	switch {
	case float64(r.thrNew) > l.expectedNoise(r.okNew+r.thrNew):
		if l.cut == nil || share > paceHeavy {
			l.cutTo(now, took, answered, share, r.ok+r.thr+r.other, r.okNew)
		}
	case r.waited && r.ok > 0 && answered >= paceBinding*l.rate:
		l.raise(now, el)
	}
}

// expectedNoise is the most throttles of n answers that the noise
// explains: its mean and two standard deviations.
func (l *paceLaw) expectedNoise(n int) float64 {
	m := l.noise * float64(n)
	return m + 2*math.Sqrt(m)
}

// cutTo cuts the rate after a round of n answers in which the CRM
// answered answered requests per second, took took of them (all but the
// throttled), and throttled share of those sent since the last cut, okNew
// of which it accepted. The cut goes to paceBackoff of what it took, or of
// the limit when that was less; a round in which it took none counts one,
// so that a rate far too high (the first throttles, sent without a limit)
// falls by the refused share at once rather than by halves (simulated at
// 10/s: 44 refused in the first 3 s, against 160 by halves). The peak,
// where raises slow down, is the rate just throttled when at most half
// was refused (a small bucket refuses half of a rate a little too high,
// so what it took then is too low), what the CRM took when more was, and
// stays as it was when it took none of the new requests (an outage, which
// tells nothing of its capacity).
func (l *paceLaw) cutTo(now time.Time, took, answered, share float64, n, okNew int) {
	if l.futile == 0 {
		l.futileFrom = l.rate
	}
	switch {
	case okNew == 0: // an outage, or far too fast: the peak stays
	case share <= 0.5 && !math.IsInf(l.rate, 1):
		l.peak = max(took, paceBackoff*l.rate)
	default:
		l.peak = took
	}
	l.rate = max(paceBackoff*min(l.rate, max(took, answered/float64(n))), l.floor)
	l.above, l.aboveSince = 0, time.Time{}
	l.gen++
	l.cut = &paceCut{at: now, share: share, before: l.recent}
}

// raise raises the rate one step: halfway back to the peak after a deep
// cut, a step towards it, or a step above it that, after paceProbeRounds
// raises and paceProbeAfter above it, doubles with every raise.
func (l *paceLaw) raise(now time.Time, el time.Duration) {
	if math.IsInf(l.rate, 1) || l.rate >= l.maxRate {
		return
	}
	// Per paceMinRound of the round: a long round (few answers, a low
	// rate) raises as much as the short rounds of a high rate in the
	// same time.
	step := paceRaise * math.Sqrt(max(l.rate, l.floor)) * min(float64(el)/float64(paceMinRound), paceRaiseRounds)
	step = min(step, max(paceMaxStep*l.rate, paceMinStep))
	switch {
	case !math.IsInf(l.peak, 1) && l.rate < l.peak/2: // back from a deep cut (an outage)
		l.rate += (l.peak - l.rate) / 2
	case l.rate < l.peak:
		l.rate = min(l.peak, l.rate+step)
	default:
		if l.aboveSince.IsZero() {
			l.aboveSince = now
		}
		if l.above++; l.above > paceProbeRounds && now.Sub(l.aboveSince) >= paceProbeAfter {
			step *= math.Exp2(float64(min(l.above-paceProbeRounds, 20)))
		}
		l.rate += step
	}
	l.rate = min(l.rate, l.maxRate)
}
