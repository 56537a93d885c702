package common

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The constants of the pacing law (see paceLaw). Each was chosen on the
// simulated matrix of CRMs (pacesim_test.go): rate limits of several
// shapes, random failures of every kind, and both together.
const (
	// A round lasts at least paceMinRound and two round trips, and until
	// it holds paceRoundAnswers answers or lasts paceMaxRound.
	paceMinRound     = 50 * time.Millisecond
	paceRoundAnswers = 10
	paceMaxRound     = time.Second
	// paceRush answers to requests sent since the last cut, most of them
	// throttled, end a round at once: the rate is far too high.
	paceRush = 8
	// paceBackoff is the cut: the rate becomes this share of what the CRM
	// took in the throttled round.
	paceBackoff = 0.9
	// A cut is judged on paceJudge answers to requests sent after it (or
	// what came in paceJudgeFor), against the throttled share of the last
	// paceBaseline answers before it.
	paceJudge    = 50
	paceJudgeFor = 2 * time.Second
	paceBaseline = 128
	// paceDeep is the deeper cut that a cut which did not lower the
	// throttled share is followed by, before it is judged noise.
	paceDeep = 0.5
	// paceCubic is how long the raises after a cut take to come back to
	// the peak (see paceLaw.raise).
	paceCubic = 3 * time.Second
	// A round in which paceExhausted of the answers to new requests were
	// throttled pauses all starts: one probe is sent after pacePauseMin,
	// then after waits doubling up to pacePauseMax, until one is taken.
	paceExhausted = 0.9
	pacePauseMin  = 100 * time.Millisecond
	pacePauseMax  = time.Second
	// paceCycle is the longest past over which what the CRM took is
	// averaged when sending resumes after a pause (see paceLaw.resume).
	paceCycle = 15 * time.Second
	// paceTook is the past over which what the CRM took is measured at a
	// cut, besides the round itself.
	paceTook = 2 * time.Second
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

// paceCount counts answers.
type paceCount struct{ ok, thr, other int }

func (c *paceCount) add(o paceOutcome) {
	switch o {
	case paceAccepted:
		c.ok++
	case paceThrottled:
		c.thr++
	default:
		c.other++
	}
}

func (c paceCount) n() int { return c.ok + c.thr + c.other }

// share is the throttled share of the answers; 0 for none.
func (c paceCount) share() float64 {
	if c.n() == 0 {
		return 0
	}
	return float64(c.thr) / float64(c.n())
}

// paceTrial is a cut being judged.
type paceTrial struct {
	at     time.Time
	before paceCount // the baseline: the answers before the cut
	after  paceCount // answers to requests sent after it
	first  paceCount // of a deep cut, the answers after the first one
	deep   bool      // the second, deeper cut of the test
}

// paceLaw is the Pacer's control law, apart from any clock or lock: every
// method takes the time it acts at, so that tests drive it on a simulated
// clock.
//
// It slows down only on evidence that the rate causes the refusals. There
// is no limit until the CRM throttles (429, or 503 with Retry-After) more
// than the noise (the share it throttles whatever the rate) explains.
// Then the rate is cut to paceBackoff of what the CRM took, and the cut is
// a test: if the throttled share of the requests sent after it falls to
// the noise, or clearly below the share before it, a rate limit is
// confirmed and the cut kept; if not, the cut is undone and the share it
// left becomes the noise. Under a confirmed limit, rounds that went at the
// limit without throttles raise it a little; a round in which nearly
// everything was throttled (a spent quota) pauses until a probe is taken,
// then sending resumes at what the CRM took since the last resume. An
// announced budget caps the rate at its remaining requests spread until
// its reset.
type paceLaw struct {
	maxRate float64 // MAX_RATE; +Inf for none
	floor   float64
	lim     *rate.Limiter
	applied float64 // the limit set on lim

	active bool    // false until the CRM first throttled or announced a budget, without MAX_RATE
	rate   float64 // the adaptive limit; +Inf for none
	peak   float64 // what the CRM took when it last throttled; +Inf for never
	noise  float64 // the throttled share that does not depend on the rate
	gen    uint64
	rtt    time.Duration // smoothed duration of accepted requests

	round   paceCount // answers to requests sent since the last cut, this round
	roundAt time.Time
	all     int           // every answer of the round, fresh or not
	waited  bool          // a request waited for the limit this round
	cutAt   time.Time     // the last cut or resume, where the cubic of raises starts
	cubic   time.Duration // how long its raises take back to the peak
	trial   *paceTrial
	// since counts the answers (up to paceBaseline) since the rate last
	// changed by a cut, an undo or a resume: the baseline of a cut.
	since paceRing

	// A spent quota: nothing starts before pausedUntil; probing sends one
	// request then (pauseFor doubles while probes are throttled).
	probing     bool
	pauseFor    time.Duration
	pausedUntil time.Time
	resumed     time.Time // when sending last resumed after a pause
	taken       paceTally

	ceiling      float64 // the announced budget's rate; +Inf for none
	ceilingUntil time.Time
}

// newPaceLaw returns the law for a cap of maxRate requests per second
// (0: none), its rounds starting at now.
func newPaceLaw(maxRate float64, now time.Time) *paceLaw {
	l := &paceLaw{maxRate: math.Inf(1), floor: paceFloor, rate: math.Inf(1), peak: math.Inf(1), ceiling: math.Inf(1), applied: math.Inf(1), cubic: paceCubic}
	l.lim = rate.NewLimiter(rate.Inf, 1)
	if maxRate > 0 {
		l.maxRate = maxRate
		l.floor = min(paceFloor, maxRate)
		l.activate(now)
	}
	return l
}

// activate starts counting rounds.
func (l *paceLaw) activate(now time.Time) {
	if !l.active {
		l.active, l.roundAt = true, now
		l.apply(now)
	}
}

// answer takes in the answer at now to the request of tk, with the budget
// the CRM announced.
func (l *paceLaw) answer(now time.Time, tk paceTicket, o paceOutcome, b Budget) {
	if o != paceThrottled {
		l.taken.add(now)
	}
	if !l.active {
		if o != paceThrottled && !b.Known {
			return
		}
		l.activate(now)
	}
	if o == paceAccepted && !tk.at.IsZero() {
		if d := now.Sub(tk.at); l.rtt == 0 {
			l.rtt = d
		} else {
			l.rtt += (d - l.rtt) / 8
		}
	}
	l.budget(now, b)
	fresh := tk.gen == l.gen
	if l.probing {
		if fresh {
			l.probed(now, o)
		}
		l.apply(now)
		return
	}
	l.since.add(o == paceThrottled)
	l.all++
	if fresh {
		l.round.add(o)
		if l.trial != nil {
			l.trial.after.add(o)
		}
	}
	el := now.Sub(l.roundAt)
	r := l.round
	switch {
	case r.n() >= l.exhaustedAfter() && float64(r.thr) >= paceExhausted*float64(r.n()):
		l.pause(now)
	case r.n() >= paceRush && 2*r.thr > r.n(), // far too fast: no time to lose
		el >= max(paceMinRound, 2*l.rtt) && (l.all >= paceRoundAnswers || el >= paceMaxRound):
		l.decide(now, max(el, time.Microsecond))
	}
	l.apply(now)
}

// decide ends the round at now, el after it began: it judges the cut on
// trial, then cuts, raises or holds the rate.
func (l *paceLaw) decide(now time.Time, el time.Duration) {
	r, waited := l.round, l.waited
	l.round, l.roundAt, l.all, l.waited = paceCount{}, now, 0, false
	rush := r.n() >= paceRush && 2*r.thr > r.n()
	if t := l.trial; t != nil && !rush {
		if t.after.n() < paceJudge && (t.after.n() == 0 || now.Sub(t.at) < paceJudgeFor) {
			return
		}
		l.trial = nil
		a := t.after
		switch {
		case !l.excess(a) && a.share() <= t.before.share()/2:
			return // a limit, now respected
		case clearlyBelow(a, t.before) && l.excess(a):
			// Lower, but still too many: cut again below.
		case clearlyBelow(a, t.before):
			return
		case !t.deep:
			// Not lower yet: a deeper cut tells a rate limit (which
			// refuses less) from refusals that do not depend on the rate.
			l.rate = max(paceDeep*l.rate, l.floor)
			l.gen++
			l.cutAt, l.cubic = now, paceCubic
			l.trial = &paceTrial{at: now, before: t.before, first: a, deep: true}
			l.since = paceRing{}
			return
		default:
			// Not even half the rate lowered the share: these throttles do
			// not depend on the rate. Their share is the noise, measured
			// at both cuts, and pacing stops (a real limit would soon
			// show, by refusing nearly everything).
			both := paceCount{ok: a.ok + t.first.ok, thr: a.thr + t.first.thr, other: a.other + t.first.other}
			l.rate, l.noise = math.Inf(1), both.share()
			l.since = paceRing{}
			return
		}
	}
	if !l.excess(r) && !rush {
		if waited && r.ok > 0 {
			l.raise(now)
		}
		return
	}
	// What the CRM took: in this round, or in the last paceTook (steadier
	// at low rates, where a round holds few answers).
	took := max(float64(r.ok+r.other)/el.Seconds(), l.taken.rate(now.Add(-paceTook), now))
	l.peak = took
	l.rate = max(paceBackoff*min(l.rate, max(took, 1/el.Seconds())), l.floor)
	l.cutAt, l.cubic = now, cubicTime(l.peak)
	l.gen++
	l.trial = &paceTrial{at: now, before: l.since.count()}
	l.since = paceRing{}
}

// exhaustedAfter is how many answers to new requests, nearly all
// throttled, tell a spent quota: paceRush/2, or as many as the noise
// throttles in a row once in 10,000.
func (l *paceLaw) exhaustedAfter() int {
	n := paceRush / 2
	if l.noise > 0 {
		n = max(n, int(math.Ceil(-4/math.Log10(l.noise))))
	}
	return n
}

// excess tells whether c holds more throttles than the noise explains:
// more than its mean and three standard deviations, and one.
func (l *paceLaw) excess(c paceCount) bool {
	n := float64(c.n())
	m := l.noise * n
	return float64(c.thr) > m+3*math.Sqrt(m*(1-l.noise))+1
}

// clearlyBelow tells whether the throttled share of a is below that of b
// by a quarter at least, and by more than chance explains (a z-score
// above 2).
func clearlyBelow(a, b paceCount) bool {
	pa, pb := a.share(), b.share()
	if b.n() == 0 || pa > 0.75*pb {
		return false
	}
	p := float64(a.thr+b.thr) / float64(a.n()+b.n())
	se := math.Sqrt(p * (1 - p) * (1/float64(a.n()) + 1/float64(b.n())))
	return se == 0 || (pb-pa)/se > 2
}

// raise raises the rate after a round that went at the limit without a
// throttle, on a cubic of the time since the last cut (as TCP CUBIC
// does): back to the peak in paceCubic, slowly near it, then ever faster
// above it, to find new room. The cubic is in proportion to the peak,
// so that the law is the same at 10 requests per second and at 10,000.
func (l *paceLaw) raise(now time.Time) {
	if math.IsInf(l.rate, 1) || l.rate >= l.maxRate {
		return
	}
	x := now.Sub(l.cutAt).Seconds()/l.cubic.Seconds() - 1
	l.rate = min(max(l.rate, l.peak*(1+(1-paceBackoff)*x*x*x)), l.maxRate)
}

// cubicTime returns how long the raises after a cut at peak take back to
// it: paceCubic at 50 requests per second, in proportion to the cube
// root of the peak (as TCP CUBIC's K): integrators sharing a limit come
// back to their peaks at different paces, the smaller sooner, and so
// converge to equal shares. At least 2 s and at most paceCycle.
func cubicTime(peak float64) time.Duration {
	k := paceCubic.Seconds() * math.Cbrt(peak/50)
	return min(max(time.Duration(k*float64(time.Second)), 2*time.Second), paceCycle)
}

// pause stops all starts after a round in which nearly everything was
// throttled: a quota spent, or a rate far too high.
func (l *paceLaw) pause(now time.Time) {
	l.probing, l.trial = true, nil
	l.pauseFor = max(pacePauseMin, 2*l.rtt)
	l.pausedUntil = now.Add(l.pauseFor)
	l.gen++
}

// probed takes in the answer to a probe: throttled, the pause doubles;
// otherwise sending resumes at what the CRM took since it last resumed
// (at most paceCycle ago), a quota's worth spread over its period.
func (l *paceLaw) probed(now time.Time, o paceOutcome) {
	if o == paceThrottled {
		l.pauseFor = min(2*l.pauseFor, pacePauseMax)
		l.pausedUntil = now.Add(l.pauseFor)
		l.gen++
		return
	}
	from := l.taken.since(l.resumed, now)
	took := max(l.taken.rate(from, now), l.taken.rate(now.Add(-paceTook), now))
	l.peak = took
	l.rate = max(paceBackoff*took, l.floor)
	l.cutAt, l.cubic = now, paceCubic
	if l.pauseFor >= pacePauseMax {
		// A quota, renewed only after a second of refused probes: the
		// raises come back to what the CRM took over its period in as
		// long.
		l.cubic = min(max(now.Sub(from), paceCubic), paceCycle)
	} else {
		// A bucket refilled during the pause: what it took tells little
		// of its rate, so the raises start fast.
		l.cutAt = now.Add(-3 * paceCubic)
	}
	l.probing, l.pausedUntil, l.resumed = false, time.Time{}, now
	l.since = paceRing{}
	l.round, l.roundAt, l.all, l.waited = paceCount{}, now, 0, false
	l.gen++
}
