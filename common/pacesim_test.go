package common

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// The pacing law is tested against simulated CRMs on a simulated clock:
// integrators of a few workers each send a fixed set of records, a record
// refused waits its Retry-After before it is sent again, and the figures
// are those the benchmark measures for real.

// simCRM decides the fate of a request arriving at t.
type simCRM interface {
	arrive(t time.Time) (paceOutcome, Budget)
}

// bucketCRM is a CRM with a token bucket rate limit.
type bucketCRM struct{ lim *rate.Limiter }

func newBucketCRM(perSecond float64, burst int) *bucketCRM {
	return &bucketCRM{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

func (c *bucketCRM) arrive(t time.Time) (paceOutcome, Budget) {
	if c.lim.AllowN(t, 1) {
		return paceAccepted, Budget{}
	}
	return paceThrottled, Budget{}
}

// randomCRM refuses a share of the requests at random, whatever the
// rate, and fails another share (500s).
type randomCRM struct {
	share, fail float64
	rng         *rand.Rand
}

func (c *randomCRM) arrive(time.Time) (paceOutcome, Budget) {
	switch u := c.rng.Float64(); {
	case u < c.share:
		return paceThrottled, Budget{}
	case u < c.share+c.fail:
		return paceOther, Budget{}
	}
	return paceAccepted, Budget{}
}

// windowCRM allows limit requests per fixed window and announces what is
// left of it with every answer.
type windowCRM struct {
	silent bool // announces no budget
	start  time.Time
	window time.Duration
	limit  int
	n      int
	cur    int64
}

func (c *windowCRM) arrive(t time.Time) (paceOutcome, Budget) {
	w := int64(t.Sub(c.start) / c.window)
	if w != c.cur {
		c.cur, c.n = w, 0
	}
	reset := c.start.Add(time.Duration(w+1) * c.window).Sub(t)
	if c.n >= c.limit {
		return paceThrottled, Budget{Known: !c.silent, Remaining: 0, Reset: reset}
	}
	c.n++
	return paceAccepted, Budget{Known: !c.silent, Remaining: c.limit - c.n, Reset: reset}
}

// outageCRM throttles everything between from and to, and passes the rest
// to next.
type outageCRM struct {
	from, to time.Time
	next     simCRM
}

func (c *outageCRM) arrive(t time.Time) (paceOutcome, Budget) {
	if !t.Before(c.from) && t.Before(c.to) {
		return paceThrottled, Budget{}
	}
	return c.next.arrive(t)
}

// simSetup is one simulated run.
type simSetup struct {
	crm         simCRM
	integrators int
	workers     int
	maxRate     float64
	records     int
	latency     time.Duration // of an accepted request (and a failed one)
	jitter      time.Duration // up to this more, at random
	refuseIn    time.Duration // of a refused one
	overhead    time.Duration // a worker's own time per request
	retryAfter  time.Duration
	// unpaced sends without the law: the reference.
	unpaced bool
}

// simResult is what a run measured.
type simResult struct {
	requests, refused int
	first, last       time.Time // first request, last acceptance
	acceptedBy        []int
}

// acceptedRate is the customers accepted per second from the first
// request to the last acceptance.
func (r simResult) acceptedRate(records int) float64 {
	return float64(records) / r.last.Sub(r.first).Seconds()
}

// refusedShare is the share of all requests refused.
func (r simResult) refusedShare() float64 {
	return float64(r.refused) / float64(r.requests)
}

type simEvent struct {
	at     time.Time
	kind   int // simFree, simStart, simAnswer
	worker int
	tk     paceTicket
	o      paceOutcome
	b      Budget
}

const (
	simFree = iota
	simStart
	simAnswer
	simGate
)

// simGateState is an integrator's gate: paceWaiters waiters at a time
// reserve a start.
type simGateState struct {
	busy  int
	queue []int
}

type simEvents []simEvent

func (h simEvents) Len() int           { return len(h) }
func (h simEvents) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h simEvents) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *simEvents) Push(x any)        { *h = append(*h, x.(simEvent)) }
func (h *simEvents) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// simulate runs s from t0 until every record is accepted.
func simulate(s simSetup, t0 time.Time) simResult {
	if s.latency == 0 {
		s.latency = 2 * time.Millisecond
	}
	if s.refuseIn == 0 {
		s.refuseIn = 200 * time.Microsecond
	}
	if s.overhead == 0 {
		s.overhead = 100 * time.Microsecond
	}
	if s.retryAfter == 0 {
		s.retryAfter = time.Second
	}
	laws := make([]*paceLaw, s.integrators)
	gates := make([]*simGateState, s.integrators)
	for i := range laws {
		laws[i] = newPaceLaw(s.maxRate, t0)
		gates[i] = &simGateState{}
	}
	res := simResult{acceptedBy: make([]int, s.integrators)}
	jitter := rand.New(rand.NewPCG(3, 4))
	ready := s.records // records due now, never in flight
	var due []time.Time
	accepted := 0
	var idle []int // workers waiting for a record
	var ev simEvents
	for w := range s.integrators * s.workers {
		heap.Push(&ev, simEvent{at: t0, kind: simFree, worker: w})
	}
	for ev.Len() > 0 && accepted < s.records {
		e := heap.Pop(&ev).(simEvent)
		for len(due) > 0 && !due[0].After(e.at) {
			due = due[1:]
			ready++
		}
		law := laws[e.worker/s.workers]
		switch e.kind {
		case simFree:
			if ready == 0 {
				idle = append(idle, e.worker)
				if len(due) > 0 && len(idle) == 1 {
					heap.Push(&ev, simEvent{at: due[0], kind: simFree, worker: idle[0]})
					idle = idle[1:]
				}
				continue
			}
			ready--
			if s.unpaced {
				heap.Push(&ev, simEvent{at: e.at, kind: simStart, worker: e.worker})
				continue
			}
			if tk, ok := law.start(e.at); ok {
				heap.Push(&ev, simEvent{at: e.at, kind: simStart, worker: e.worker, tk: tk})
				continue
			}
			g := gates[e.worker/s.workers]
			g.queue = append(g.queue, e.worker)
			if g.busy < paceWaiters {
				g.busy++
				heap.Push(&ev, simEvent{at: e.at, kind: simGate, worker: e.worker})
			}
		case simGate: // a place at the gate is free: its next waiter reserves
			g := gates[e.worker/s.workers]
			if len(g.queue) == 0 {
				g.busy--
				continue
			}
			w := g.queue[0]
			g.queue = g.queue[1:]
			tk, d, _ := law.reserve(e.at)
			heap.Push(&ev, simEvent{at: e.at.Add(d), kind: simStart, worker: w, tk: tk})
			heap.Push(&ev, simEvent{at: e.at.Add(d), kind: simGate, worker: e.worker})
		case simStart:
			res.requests++
			if res.first.IsZero() {
				res.first = e.at
			}
			o, b := s.crm.arrive(e.at)
			took := s.latency
			if s.jitter > 0 {
				took += time.Duration(jitter.Int64N(int64(s.jitter)))
			}
			if o == paceThrottled {
				took = s.refuseIn
			}
			heap.Push(&ev, simEvent{at: e.at.Add(took), kind: simAnswer, worker: e.worker, tk: e.tk, o: o, b: b})
		case simAnswer:
			if !s.unpaced {
				law.answer(e.at, e.tk, e.o, e.b)
			}
			if e.o == paceAccepted {
				accepted++
				res.acceptedBy[e.worker/s.workers]++
				res.last = e.at
			} else {
				wait := 50 * time.Millisecond // a failure's backoff
				if e.o == paceThrottled {
					res.refused++
					wait = s.retryAfter
				}
				at := e.at.Add(wait)
				i, _ := slices.BinarySearchFunc(due, at, func(a, b time.Time) int { return a.Compare(b) })
				due = slices.Insert(due, i, at)
			}
			heap.Push(&ev, simEvent{at: e.at.Add(s.overhead), kind: simFree, worker: e.worker})
			for _, w := range idle {
				heap.Push(&ev, simEvent{at: e.at.Add(s.overhead), kind: simFree, worker: w})
			}
			idle = idle[:0]
		}
	}
	return res
}
