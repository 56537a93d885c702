package pace

import (
	"cmp"
	"math"
	"time"

	"golang.org/x/time/rate"

	"goquiz/common"
)

// The pacing law's constants (see law), chosen on the simulated
// matrix of CRMs (sim_cases_test.go).
const (
	paceMinRound      = 50 * time.Millisecond // a round: two round trips at least,
	paceRoundAnswers  = 10                    // and this many answers,
	paceMaxRound      = time.Second           // or this long;
	paceRush          = 8                     // this many new answers, 3/4 throttled beyond noise, end it at once
	paceBackoff       = 0.9                   // a cut: this share of what the CRM took (round, last 1-2 s)
	paceJudge         = 50                    // answers after a cut that judge it,
	paceJudgeFor      = 2 * time.Second       // or what came in this long
	paceDeep          = 0.5                   // the second cut of a test
	paceNoiseHalfLife = 30 * time.Second      // how fast noise is forgotten
	paceCubic         = 3 * time.Second       // raises back to the peak at 50/s (cubicTime)
	paceExhausted     = 0.9                   // this share throttled pauses all starts;
	pacePauseMin      = 100 * time.Millisecond
	pacePauseMax      = time.Second // probes after pauses doubling between these
	paceCycle         = 15 * time.Second
	paceFloor         = 1.0 // the lowest rate the law sets, per second
	paceMaxBurst      = 4   // starts at once (one per 10 ms of the limit)
	paceWaiters       = 4   // requests waiting for a start at once
)

// paceOutcome is what the pacing law sees of an answer: accepted (2xx),
// throttled (429, or 503 with Retry-After), or another failure.
type paceOutcome uint8

const (
	paceOther paceOutcome = iota
	paceAccepted
	paceThrottled
)

// Start is the start of one request as the Pacer granted it (Wait), to be
// handed back to Done with the request's answer: the law's generation
// then (cuts so far), and when the request started (zero while the Pacer
// was not active).
type Start struct {
	gen uint64
	at  time.Time
}

// trial is a cut being judged: the answers before it and after it,
// and of a deep cut, those after the first (none: not deep).
type trial struct {
	at                   time.Time
	before, after, first tally
}

// law is the Pacer's control law, explained in docs/pacing.md ("The law,
// in one paragraph"), apart from any clock or lock: every method takes the
// time it acts at, so that tests drive it on a simulated clock.
type law struct {
	maxRate, floor float64 // MAX_RATE (+Inf for none), and the lowest rate
	lim            *rate.Limiter
	applied        float64 // the limit set on lim
	active         bool    // false until a throttle or a budget, without MAX_RATE
	rate, peak     float64 // the adaptive limit (+Inf: none); what the CRM took at the last cut
	noise          float64 // the throttled share that does not depend on the rate
	gen            uint64
	rtt            time.Duration // smoothed, of accepted requests

	round, since tally // answers to new requests this round; all since the rate changed
	held         tally // answers to new requests since the last cut, or a limit found
	roundAt      time.Time
	all          int  // every answer of the round
	waited       bool // a request waited for the limit this round
	trial        *trial
	cutAt        time.Time     // the last cut or resume, where the cubic starts
	cubic        time.Duration // how long its raises take back to the peak
	taken        intake

	limited      bool    // a test found a limit (or a peer's), and none found noise since
	found        bool    // this law's own test found the limit (shared with peers)
	peerLimited  bool    // another integrator's law found a limit (common.LimitSharer)
	fair         float64 // then the fair share of what they all take, with this law
	probing      bool    // nothing starts before pausedUntil, then one probe
	pauseFor     time.Duration
	pausedUntil  time.Time
	ceiling      float64 // an announced budget's rate, until ceilingUntil
	ceilingUntil time.Time
}

// newLaw returns the law for a cap of maxRate requests per second
// (0: none), its rounds starting at now.
func newLaw(maxRate float64, now time.Time) *law {
	inf := math.Inf(1)
	l := &law{maxRate: inf, floor: paceFloor, rate: inf, peak: inf, applied: inf, cubic: paceCubic}
	l.lim = rate.NewLimiter(rate.Inf, 1)
	if maxRate > 0 {
		l.maxRate, l.floor = maxRate, min(paceFloor, maxRate)
		l.active, l.roundAt = true, now
		l.apply(now)
	}
	return l
}

// answer takes in the answer at now to the request of st, with the budget
// the CRM announced.
func (l *law) answer(now time.Time, st Start, o paceOutcome, b common.Budget) {
	if o != paceThrottled {
		l.taken.add(now)
	}
	if !l.active {
		if o != paceThrottled && !b.Known {
			return
		}
		l.active, l.roundAt = true, now // the rounds start
	}
	if d := now.Sub(st.at); o == paceAccepted && !st.at.IsZero() {
		l.rtt = cmp.Or(l.rtt, d)
		l.rtt += (d - l.rtt) / 8
	}
	defer l.apply(now)
	l.budget(now, b)
	fresh := st.gen == l.gen
	if l.probing {
		if fresh {
			l.probed(now, o)
		}
		return
	}
	l.since[o]++
	l.all++
	if fresh {
		l.round[o]++
		l.held[o]++
		if l.trial != nil {
			l.trial.after[o]++
		}
	}
	// Nearly all throttled (a quota spent, or a rate far too high) pauses
	// all starts, after paceRush/2 answers at least, as many as the noise
	// throttles in a row once in 10^4 (0 without noise).
	exhausted := max(paceRush/2, int(math.Ceil(-4/math.Log10(l.noise))))
	el, r := now.Sub(l.roundAt), l.round
	switch {
	case r.n() >= exhausted && float64(r[paceThrottled]) >= paceExhausted*float64(r.n()):
		l.probing, l.trial, l.pauseFor = true, nil, max(pacePauseMin, 2*l.rtt)
		l.probe(now)
		l.gen++
	case l.rush(r), el >= max(paceMinRound, 2*l.rtt) && (l.all >= paceRoundAnswers || el >= paceMaxRound):
		l.decide(now, max(el, time.Microsecond))
	}
}

// decide ends the round at now, el long: it judges the cut on trial, then
// cuts, raises or holds the rate.
func (l *law) decide(now time.Time, el time.Duration) {
	r, waited := l.round, l.waited
	l.round, l.roundAt, l.all, l.waited = tally{}, now, 0, false
	l.noise *= math.Exp2(-el.Seconds() / paceNoiseHalfLife.Seconds())
	if t := l.trial; t != nil && !l.rush(r) {
		a := t.after
		if a.n() < paceJudge && (a.n() == 0 || now.Sub(t.at) < paceJudgeFor) {
			return
		}
		l.trial = nil
		switch below := clearlyBelow(a, t.before); {
		case !l.excess(a) && (below || a.share() <= t.before.share()/2):
			l.limited, l.found, l.held = true, true, tally{}
			return // a limit, now respected
		case below: // lower, but still too many: cut again
		case t.first.n() == 0: // a deeper cut tells a limit from noise
			l.rate, l.cutAt, l.cubic = max(paceDeep*l.rate, l.floor), now, paceCubic
			l.gen++
			l.trial, l.since, l.held = &trial{at: now, before: t.before, first: a}, tally{}, tally{}
			return
		case l.peerLimited:
			// Not even half the rate lowered it, but a peer found a
			// limit: one shared with peers, who take what this law
			// leaves (two sharing 100/s refused up to 37% in 60
			// simulated seeds without this, 10% with it). Its own
			// test found none: two that had each found one would
			// otherwise hold each other to it for good.
			l.limited, l.found, l.held = true, false, tally{}
			return
		default: // not even half the rate lowered it
			l.rate, l.since = math.Inf(1), tally{} // noise: the share of both tests
			l.noise = float64(a[paceThrottled]+t.first[paceThrottled]) / float64(a.n()+t.first.n())
			l.limited, l.found = false, false
			return
		}
	}
	// Once a test found a limit, the throttles of new requests since the
	// last cut count too: one a round, too few for any round, kept the
	// rate 10% above a bucket of 20/s for seconds (cell 6 refused
	// 6.7-7.1%, now 5.8%; TestPaceOneThrottleARoundIsNoLicence).
	if !l.excess(r) && !l.rush(r) && (!l.limited || !l.excess(l.held)) {
		// A round the limit held back without a throttle raises it, on a
		// cubic of the time since the last cut, in proportion to the peak.
		// Sharing a limit, it climbs to the fair share at least: two
		// sharing 500/s split up to 23/77 in 60 simulated seeds without
		// this, 45/55 with it (TestPaceSharedFairly).
		if waited && r[paceAccepted] > 0 && l.rate < l.maxRate {
			x := now.Sub(l.cutAt).Seconds()/l.cubic.Seconds() - 1
			l.rate = min(max(l.rate, max(l.peak, l.fair)*(1+(1-paceBackoff)*x*x*x)), l.maxRate)
		}
		return
	}
	l.peak = max(float64(r.n()-r[paceThrottled])/el.Seconds(), l.taken.recent(now))
	if math.IsInf(l.rate, 1) {
		// A first cut counts what was taken since sending resumed: from
		// a stall of workers held by hung requests alone, it took a flaky
		// CRM's integrator from 70/s to 3.3/s for 12 s (TestPaceLawCutAfterAStallIsFromWhatWasTaken).
		l.peak = max(l.peak, l.taken.since(l.taken.resumed, now))
	}
	l.rate = max(paceBackoff*min(l.rate, max(l.peak, 1/el.Seconds())), l.floor)
	l.cutAt, l.cubic = now, cubicTime(l.peak)
	l.gen++
	l.trial, l.since, l.held = &trial{at: now, before: l.since}, tally{}, tally{}
}

// peers takes in the rates of the other integrators whose law found the
// limit, at now: the fair share is what they and this law take, shared
// evenly.
func (l *law) peers(now time.Time, rates []float64) {
	l.peerLimited, l.fair = len(rates) > 0, 0
	if l.peerLimited {
		sum := l.taken.recent(now)
		for _, r := range rates {
			sum += r
		}
		l.fair = sum / float64(len(rates)+1)
	}
}

// rush tells whether c holds paceRush answers, three quarters of them
// throttled, more than the noise explains: the round ends at once. Most of
// them throttled, whatever the noise, ended every third round of a CRM
// refusing half the requests at random, each with a cut, and took the rate
// to the floor (the simulated 50% cell: 0.01 of pacing off; now 0.72-0.77).
func (l *law) rush(c tally) bool {
	return c.n() >= paceRush && 4*c[paceThrottled] >= 3*c.n() && l.excess(c)
}

// excess tells whether c holds more throttles than the noise explains
// (its mean, three standard deviations, and one).
func (l *law) excess(c tally) bool {
	m := l.noise * float64(c.n())
	return float64(c[paceThrottled]) > m+3*math.Sqrt(m*(1-l.noise))+1
}

// clearlyBelow tells whether the throttled share of a is below b's by a
// quarter, and by more than chance explains (a z-score above 2).
func clearlyBelow(a, b tally) bool {
	pa, pb := a.share(), b.share()
	p := float64(a[paceThrottled]+b[paceThrottled]) / float64(a.n()+b.n())
	se := math.Sqrt(p * (1 - p) * (1/float64(a.n()) + 1/float64(b.n())))
	return pa <= 0.75*pb && (pb-pa)/se > 2
}

// cubicTime is how long raises take back to peak: paceCubic at 50/s, as
// the cube root of the peak (CUBIC's K), from 2 s to paceCycle.
func cubicTime(peak float64) time.Duration {
	k := time.Duration(paceCubic.Seconds() * math.Cbrt(peak/50) * float64(time.Second))
	return min(max(k, 2*time.Second), paceCycle)
}

// probed takes in a probe's answer: throttled, the pause doubles; else
// sending resumes at the rate of a budget the CRM announces, or without
// one, at what the CRM took since it last resumed (or in the last second
// or two, when more).
func (l *law) probed(now time.Time, o paceOutcome) {
	l.gen++
	if o == paceThrottled {
		l.pauseFor = min(2*l.pauseFor, pacePauseMax)
		l.probe(now)
		return
	}
	l.peak = max(l.taken.since(l.taken.resumed, now), l.taken.recent(now))
	l.rate, l.cutAt, l.cubic = max(paceBackoff*l.peak, l.floor), now, paceCubic
	if now.Before(l.ceilingUntil) {
		// An announced budget says what the CRM allows: what it took while
		// spent (by us, or another client of the same budget) does not.
		l.rate, l.peak = max(l.rate, l.ceiling), max(l.peak, l.ceiling)
	} else if l.pauseFor >= pacePauseMax { // a quota: back to its rate in its period
		l.cubic = min(max(now.Sub(l.taken.resumed.at), paceCubic), paceCycle)
	} else { // a bucket refilled during the pause: the raises start fast
		l.cutAt = now.Add(-3 * paceCubic)
	}
	l.taken.resumed = mark{now, l.taken.n}
	l.probing, l.pausedUntil, l.since, l.held, l.trial = false, time.Time{}, tally{}, tally{}, nil
	l.round, l.roundAt, l.all, l.waited = tally{}, now, 0, false
}

// StartedAt returns s for a request that started at t, later than the
// Pacer let it (it waited for something else in between): its round trip
// is measured from t. The Start of a Pacer not active stays as it is.
func (s Start) StartedAt(t time.Time) Start {
	if !s.at.IsZero() {
		s.at = t
	}
	return s
}

// limit returns the limit in force at now, per second (+Inf: none).
func (l *law) limit(now time.Time) float64 {
	lim := min(l.rate, l.maxRate)
	if now.Before(l.ceilingUntil) {
		lim = min(lim, l.ceiling)
	}
	return lim
}

// apply sets the limiter to the limit in force.
func (l *law) apply(now time.Time) {
	lim, prev := l.limit(now), l.applied
	if lim == prev {
		return
	}
	l.applied = lim
	if math.IsInf(lim, 1) {
		l.lim.SetLimitAt(now, rate.Inf)
		return
	}
	// After a raise, the starts already reserved keep their times: the
	// next start comes one interval of the new limit after the last, not
	// just after it, a burst a small bucket refuses (the simulated matrix
	// without this: 8.3% refused by 100/s shared by three, not 3.3%).
	// Rounded up, the small raises of a climb cost about one start in
	// ten; carrying the fraction instead did worse with the real binaries
	// against shared buckets (CHANGELOG, 2026-12-07).
	owed := max(-l.lim.TokensAt(now), 0)
	l.lim.SetBurstAt(now, min(max(int(lim/100), 1), paceMaxBurst))
	l.lim.SetLimitAt(now, rate.Limit(lim))
	for range int(math.Ceil(owed * (lim/prev - 1))) { // none after a cut
		l.lim.ReserveN(now, 1)
	}
}

// start takes a start for a request at now if one is free, and returns
// its Start; false when the request must wait (see reserve).
func (l *law) start(now time.Time) (Start, bool) {
	l.apply(now) // a budget's ceiling ends at its reset
	if now.Before(l.pausedUntil) || (!math.IsInf(l.applied, 1) && l.lim.TokensAt(now) < 1) {
		l.waited = true
		return Start{}, false
	}
	l.lim.ReserveN(now, 1)
	l.probe(now)
	return Start{gen: l.gen, at: now}, true
}

// reserve takes the next start for a request that found none free: its
// Start, its wait, and the reservation to cancel if it never starts; none
// while paused: the request waits for the pause's end, then asks again.
func (l *law) reserve(now time.Time) (Start, time.Duration, *rate.Reservation) {
	l.apply(now) // a budget's ceiling ends at its reset
	l.waited = true
	if now.Before(l.pausedUntil) {
		return Start{}, l.pausedUntil.Sub(now), nil
	}
	res := l.lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	l.probe(now.Add(d))
	return Start{gen: l.gen, at: now.Add(d)}, d, res
}

// probe holds the next start, while probing, for a pause after at (the
// start of a probe, or a pause): one probe at a time, and another if its
// answer is lost.
func (l *law) probe(at time.Time) {
	if at = at.Add(l.pauseFor); l.probing && at.After(l.pausedUntil) {
		l.pausedUntil = at
	}
}

// budget takes in an announced budget: its remaining requests spread
// until its reset, or none before the reset when none remain.
func (l *law) budget(now time.Time, b common.Budget) {
	switch until := now.Add(b.Reset); {
	case !b.Known || b.Reset <= 0:
	case b.Remaining > 0:
		l.ceiling, l.ceilingUntil = float64(b.Remaining)/b.Reset.Seconds(), until
	case until.After(l.pausedUntil):
		l.pausedUntil = until
	}
}
