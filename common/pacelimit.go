package common

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The actuator of the pacing law: the token bucket on request starts,
// and the budget the CRM announced.

// limit returns the limit in force at now: requests per second, +Inf for
// none.
func (l *paceLaw) limit(now time.Time) float64 {
	lim := min(l.rate, l.maxRate)
	if now.Before(l.ceilingUntil) {
		lim = min(lim, l.ceiling)
	}
	return lim
}

// apply sets the limiter to the limit in force.
func (l *paceLaw) apply(now time.Time) {
	lim := l.limit(now)
	if lim == l.applied {
		return
	}
	prev := l.applied
	l.applied = lim
	if math.IsInf(lim, 1) {
		l.lim.SetLimitAt(now, rate.Inf)
		return
	}
	// The starts already reserved (negative tokens) keep their times: the
	// limiter would otherwise count them at the new limit, and a raise
	// would move the next start to just after one reserved before it, a
	// burst that a CRM with a small bucket refuses (simulated without
	// this: 4.5% refused at 50/s, burst 5, and 5.3% for three integrators
	// at 500/s; with it 2.8% and 2.2%). The reservations round up: a raise
	// costs at most one start.
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
// its ticket; false when the request must wait (see reserve).
func (l *paceLaw) start(now time.Time) (paceTicket, bool) {
	l.expire(now)
	if now.Before(l.pausedUntil) || (!math.IsInf(l.applied, 1) && l.lim.TokensAt(now) < 1) {
		l.waited = true
		return paceTicket{}, false
	}
	l.lim.ReserveN(now, 1)
	l.probe(now)
	return paceTicket{gen: l.gen, at: now}, true
}

// probe holds the next start, while probing, until a pause after this
// one: one probe at a time, and another if its answer is lost.
func (l *paceLaw) probe(at time.Time) {
	if l.probing {
		l.pausedUntil = at.Add(l.pauseFor)
	}
}

// expire ends the budget's ceiling once its reset has passed.
func (l *paceLaw) expire(now time.Time) {
	if !now.Before(l.ceilingUntil) && !math.IsInf(l.ceiling, 1) {
		l.ceiling = math.Inf(1)
		l.apply(now)
	}
}

// reserve takes the next start for a request that found none free, and
// returns its ticket, how long it must wait before it starts, and the
// reservation to cancel if it never does. While starts are paused it
// reserves nothing and returns a nil reservation: the request waits until
// the pause ends, then asks again (one probe at a time may start then).
// At most paceWaiters requests wait so at once (the Pacer's gate), so
// that a cut applies to the requests after them, not after the starts
// every worker reserved.
func (l *paceLaw) reserve(now time.Time) (paceTicket, time.Duration, *rate.Reservation) {
	l.expire(now)
	if now.Before(l.pausedUntil) {
		l.waited = true
		return paceTicket{}, l.pausedUntil.Sub(now), nil
	}
	res := l.lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	l.probe(now.Add(d))
	if d > 0 {
		l.waited = true
	}
	return paceTicket{gen: l.gen, at: now.Add(d)}, d, res
}

// budget takes in the budget announced with an answer: its remaining
// requests spread evenly until its reset, or none before the reset when
// none remain.
func (l *paceLaw) budget(now time.Time, b Budget) {
	if !b.Known || b.Reset <= 0 {
		return
	}
	until := now.Add(b.Reset)
	if b.Remaining <= 0 {
		if until.After(l.pausedUntil) {
			l.pausedUntil = until
		}
		return
	}
	l.ceiling, l.ceilingUntil = float64(b.Remaining)/b.Reset.Seconds(), until
}

// paceRing holds whether each of the last paceBaseline answers was
// throttled.
type paceRing struct {
	thr  [paceBaseline]bool
	next int
	n    int
}

func (r *paceRing) add(throttled bool) {
	r.thr[r.next] = throttled
	r.next = (r.next + 1) % paceBaseline
	r.n = min(r.n+1, paceBaseline)
}

// count returns the answers it holds, throttled or not.
func (r *paceRing) count() paceCount {
	var c paceCount
	for i := range r.n {
		if r.thr[i] {
			c.thr++
		} else {
			c.ok++
		}
	}
	return c
}

// paceTally counts accepted answers by tenth of a second, over the last
// 16 seconds, and notes the first since a pause of 16 seconds.
type paceTally struct {
	slot        [160]int64 // tenths of a second since the Unix epoch
	n           [160]int
	first, last time.Time
}

func (t *paceTally) add(now time.Time) {
	if now.Sub(t.last) > 16*time.Second {
		t.first = now
	}
	t.last = now
	s := now.UnixMilli() / 100
	i := s % int64(len(t.slot))
	if t.slot[i] != s {
		t.slot[i], t.n[i] = s, 0
	}
	t.n[i]++
}

// since returns from, or a later time: the first answer counted, or 15
// seconds ago.
func (t *paceTally) since(from, now time.Time) time.Time {
	return maxTime(maxTime(from, t.first), now.Add(-15*time.Second))
}

// rate returns the answers per second counted from from to now (see
// since for the times it can count from).
func (t *paceTally) rate(from, now time.Time) float64 {
	from = t.since(from, now)
	lo, hi := from.UnixMilli()/100, now.UnixMilli()/100
	n := 0
	for i, s := range t.slot {
		if s >= lo && s <= hi {
			n += t.n[i]
		}
	}
	return float64(n) / max(now.Sub(from), 100*time.Millisecond).Seconds()
}

// maxTime returns the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
