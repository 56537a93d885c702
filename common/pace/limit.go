package pace

import (
	"math"
	"time"

	"golang.org/x/time/rate"

	"goquiz/common"
)

// The pacing law's actuator (the token bucket on starts, the pause, an
// announced budget) and the counts it reads.

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
	// The starts already reserved keep their times: the limiter would
	// count them at the new limit, and after a raise the next start would
	// come just after one reserved before it, a burst a small bucket
	// refuses (simulated without this: 4.5% refused at 50/s, burst 5;
	// with it 2.8%).
	owed := -l.lim.TokensAt(now)
	l.lim.SetBurstAt(now, min(max(int(lim/100), 1), paceMaxBurst))
	l.lim.SetLimitAt(now, rate.Limit(lim))
	if owed > 0 && lim > prev {
		for range int(math.Ceil(owed * (lim/prev - 1))) {
			l.lim.ReserveN(now, 1)
		}
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

// reserve takes the next start for a request that found none free, and
// returns its Start, how long it must wait, and the reservation to
// cancel if it never starts. While paused it reserves nothing (a nil
// reservation): the request waits for the pause's end, then asks again.
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
	if !b.Known || b.Reset <= 0 {
		return
	}
	until := now.Add(b.Reset)
	if b.Remaining > 0 {
		l.ceiling, l.ceilingUntil = float64(b.Remaining)/b.Reset.Seconds(), until
	} else if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// tally counts answers by outcome.
type tally [3]int

func (c tally) n() int { return c[paceOther] + c[paceAccepted] + c[paceThrottled] }

// share is the throttled share of the answers; 0 for none.
func (c tally) share() float64 { return float64(c[paceThrottled]) / float64(max(c.n(), 1)) }

// rush tells whether c holds paceRush answers, most of them throttled.
func (c tally) rush() bool { return c.n() >= paceRush && 2*c[paceThrottled] > c.n() }

// intake counts the answers the CRM took (all but throttles), with
// marks to measure rates from: the start of the last second and of the
// one before, and when sending last resumed after a pause or began (after
// a lull of paceCycle).
type intake struct {
	n                  int64
	cur, prev, resumed mark
	last               time.Time
}

// mark is the count at a time.
type mark struct {
	at time.Time
	n  int64
}

func (t *intake) add(now time.Time) {
	if now.Sub(t.last) > paceCycle {
		t.resumed, t.cur, t.prev = mark{now, t.n}, mark{now, t.n}, mark{now, t.n}
	}
	if now.Sub(t.cur.at) >= time.Second {
		t.prev, t.cur = t.cur, mark{now, t.n}
	}
	t.last = now
	t.n++
}

// since returns the answers per second counted since m.
func (t *intake) since(m mark, now time.Time) float64 {
	return float64(t.n-m.n) / max(now.Sub(m.at), 100*time.Millisecond).Seconds()
}
