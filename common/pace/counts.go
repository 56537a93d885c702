package pace

import "time"

// tally counts answers by outcome.
type tally [3]int

func (c tally) n() int { return c[paceOther] + c[paceAccepted] + c[paceThrottled] }

// share is the throttled share of the answers; 0 for none.
func (c tally) share() float64 { return float64(c[paceThrottled]) / float64(max(c.n(), 1)) }

// intake counts the answers the CRM took (all but throttles), with marks
// to measure rates from: the last two seconds begun, and when sending
// last resumed after a pause or began (after a lull of paceCycle).
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

// recent returns the answers per second counted over the last one to
// two seconds: what the CRM takes now.
func (t *intake) recent(now time.Time) float64 { return t.since(t.prev, now) }

// since returns the answers per second counted since m.
func (t *intake) since(m mark, now time.Time) float64 {
	return float64(t.n-m.n) / max(now.Sub(m.at), 100*time.Millisecond).Seconds()
}
