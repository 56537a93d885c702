package pace

import (
	"cmp"
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"goquiz/common"
)

// The pacing law is tested against simulated CRMs on a simulated clock:
// integrators of a few workers each send a fixed set of records, a record
// refused waits its Retry-After before it is sent again, and the figures
// are those the benchmark measures for real.

// simCRM decides the fate of a request arriving at t.
type simCRM interface {
	arrive(t time.Time) (paceOutcome, common.Budget)
}

// bucketCRM is a CRM with a token bucket rate limit; it counts the
// requests it let through and refused.
type bucketCRM struct {
	lim               *rate.Limiter
	admitted, refused int
}

func newBucketCRM(perSecond float64, burst int) *bucketCRM {
	return &bucketCRM{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

func (c *bucketCRM) arrive(t time.Time) (paceOutcome, common.Budget) {
	if c.lim.AllowN(t, 1) {
		c.admitted++
		return paceAccepted, common.Budget{}
	}
	c.refused++
	return paceThrottled, common.Budget{}
}

// randomCRM refuses a share of the requests at random, whatever the
// rate, fails another share (500s) and lets a share hang (answered only
// after the client's timeout); with next, only the requests next takes
// (a rate limit in front of the faults).
type randomCRM struct {
	share, fail, hang float64
	rng               *rand.Rand
	next              simCRM
}

// simHang is the outcome of a request that hangs past the timeout.
const simHang paceOutcome = 100

func (c *randomCRM) arrive(t time.Time) (paceOutcome, common.Budget) {
	if c.next != nil {
		if o, b := c.next.arrive(t); o != paceAccepted {
			return o, b
		}
	}
	switch u := c.rng.Float64(); {
	case u < c.share:
		return paceThrottled, common.Budget{}
	case u < c.share+c.fail:
		return paceOther, common.Budget{}
	case u < c.share+c.fail+c.hang:
		return simHang, common.Budget{}
	}
	return paceAccepted, common.Budget{}
}

// windowCRM allows limit requests per fixed window and announces what is
// left of it with every answer.
type windowCRM struct {
	silent  bool // announces no budget
	hubspot bool // announces the window's rate only, as crm reads HubSpot's headers
	start   time.Time
	window  time.Duration
	limit   int
	n       int
	cur     int64
}

func (c *windowCRM) arrive(t time.Time) (paceOutcome, common.Budget) {
	w := int64(t.Sub(c.start) / c.window)
	if w != c.cur {
		c.cur, c.n = w, 0
	}
	if c.n >= c.limit {
		return paceThrottled, c.budget(t, w)
	}
	c.n++
	return paceAccepted, c.budget(t, w)
}

// budget is what the answer at t, in window w, announces: what is left of
// the window until its end, or HubSpot's window rate, whatever is left.
func (c *windowCRM) budget(t time.Time, w int64) common.Budget {
	if c.hubspot {
		return common.Budget{Known: true, Remaining: c.limit - 1, Reset: c.window}
	}
	return common.Budget{Known: !c.silent, Remaining: c.limit - c.n, Reset: c.start.Add(time.Duration(w+1) * c.window).Sub(t)}
}

// outageCRM throttles everything between from and to, and passes the rest
// to next.
type outageCRM struct {
	from, to time.Time
	next     simCRM
}

func (c *outageCRM) arrive(t time.Time) (paceOutcome, common.Budget) {
	if !t.Before(c.from) && t.Before(c.to) {
		return paceThrottled, common.Budget{}
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
	// arrival is how long a request may take, at random, from its start to
	// the CRM (the client's scheduling, the network, the server's): a
	// bucket without burst refuses a request that arrives a little early.
	// Default simArrival; negative: none.
	arrival  time.Duration
	seed     uint64        // of the random latencies and arrivals
	refuseIn time.Duration // of a refused one
	overhead time.Duration // a worker's own time per request
	// retryAfter is the wait a throttle asks for; none: the backoff.
	retryAfter   time.Duration
	noRetryAfter bool
	// retryDelay doubles with every failure of a record up to retryMax
	// (defaults 50 ms and 1 s); timeout is how long a hang holds a worker
	// (default 2 s).
	retryDelay, retryMax, timeout time.Duration
	// unpaced sends without the law: the reference; fixed sends at
	// maxRate, the law told no answer (ADAPTIVE_RATE=false).
	unpaced, fixed bool
	// trace, if not nil, is told the state of the first integrator's law
	// whenever it changes.
	trace func(string)
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
	rec    int
	tk     Start
	o      paceOutcome
	b      common.Budget
}

const (
	simFree = iota
	simStart
	simAnswer
	simGate
	simArrive
)

// simArrival is the default arrival spread: what the real benchmark's
// bucket without burst shows (a client fixed at 0.95 of its rate refused
// 16%, at 0.9 1.5%).
const simArrival = 1200 * time.Microsecond

// simGateState is an integrator's gate: paceWaiters waiters at a time
// reserve a start.
type simGateState struct {
	busy  int
	queue []simEvent
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

// simClaims are the records an integrator claimed and has not sent yet,
// claimed as the deliverer does (common/deliver/claimer.go): when no
// more than a claim's worth is left, about a quarter of a second of its
// sending rate, at least two per worker. An integrator that sends slowly
// holds its claims long: the end of a run waits for it.
type simClaims struct {
	recs     []int
	sent     int
	rate     float64 // requests per second, smoothed
	last     time.Time
	lastSent int
}

// refill claims records from ready when few are left, at now, and
// returns what is left of ready.
func (c *simClaims) refill(now time.Time, ready []int, workers int) []int {
	if dt := now.Sub(c.last).Seconds(); dt >= 0.1 {
		if !c.last.IsZero() {
			c.rate = (c.rate + float64(c.sent-c.lastSent)/dt) / 2
		}
		c.last, c.lastSent = now, c.sent
	}
	limit := max(int(c.rate/4), 2*workers)
	if len(c.recs) > limit {
		return ready
	}
	n := min(limit, len(ready))
	c.recs = append(c.recs, ready[:n]...)
	return ready[n:]
}

// simDue is a record waiting for its retry.
type simDue struct {
	at  time.Time
	rec int
}

// simulate runs s from t0 until every record is accepted, or an hour
// passed.
func simulate(s simSetup, t0 time.Time) simResult {
	s.latency = cmp.Or(s.latency, 2*time.Millisecond)
	s.refuseIn = cmp.Or(s.refuseIn, 200*time.Microsecond)
	s.overhead = cmp.Or(s.overhead, 100*time.Microsecond)
	s.retryAfter = cmp.Or(s.retryAfter, time.Second)
	s.retryDelay = cmp.Or(s.retryDelay, 50*time.Millisecond)
	s.retryMax = cmp.Or(s.retryMax, time.Second)
	s.timeout = cmp.Or(s.timeout, 2*time.Second)
	s.arrival = max(cmp.Or(s.arrival, simArrival), 0)
	laws := make([]*law, s.integrators)
	gates := make([]*simGateState, s.integrators)
	for i := range laws {
		laws[i] = newLaw(s.maxRate, t0)
		gates[i] = &simGateState{}
	}
	// What each law's own test found, and the rate its CRM takes, as a
	// LimitSharer shares them: the rates noted once a second, read by the
	// others about once a second (deliver.shareLimits), so a second late.
	found := make([]time.Time, s.integrators)
	rates := make([]float64, s.integrators)
	var ratesAt time.Time
	shareLimits := func(now time.Time) {
		if now.Sub(ratesAt) >= time.Second {
			ratesAt = now
			for i, l := range laws {
				rates[i] = l.taken.recent(now)
			}
		}
		for i, l := range laws {
			if l.found && found[i].IsZero() {
				found[i] = now
			} else if !l.found {
				found[i] = time.Time{}
			}
		}
		for i, l := range laws {
			var peers []float64
			for j, at := range found {
				if j != i && !at.IsZero() && now.Sub(at) >= time.Second {
					peers = append(peers, rates[j])
				}
			}
			l.peers(now, peers)
		}
	}
	res := simResult{acceptedBy: make([]int, s.integrators)}
	jitter := rand.New(rand.NewPCG(3, 4+s.seed))
	ready := make([]int, s.records) // records due now, never in flight
	for i := range ready {
		ready[i] = i
	}
	claims := make([]simClaims, s.integrators)
	failures := make([]int, s.records)
	var due []simDue
	accepted := 0
	var idle []int // workers waiting for a record
	var ev simEvents
	for w := range s.integrators * s.workers {
		heap.Push(&ev, simEvent{at: t0, kind: simFree, worker: w})
	}
	end := t0.Add(time.Hour)
	lastTrace := make([]string, s.integrators)
	for ev.Len() > 0 && accepted < s.records {
		e := heap.Pop(&ev).(simEvent)
		if e.at.After(end) {
			res.last = e.at
			break
		}
		for len(due) > 0 && !due[0].at.After(e.at) {
			ready = append(ready, due[0].rec)
			due = due[1:]
		}
		law := laws[e.worker/s.workers]
		switch e.kind {
		case simFree:
			held := &claims[e.worker/s.workers]
			ready = held.refill(e.at, ready, s.workers)
			if len(held.recs) == 0 {
				idle = append(idle, e.worker)
				if len(due) > 0 && len(idle) == 1 {
					heap.Push(&ev, simEvent{at: due[0].at, kind: simFree, worker: idle[0]})
					idle = idle[1:]
				}
				continue
			}
			e.rec, held.recs = held.recs[0], held.recs[1:]
			held.sent++
			e.kind = simStart
			if s.unpaced {
				heap.Push(&ev, e)
				continue
			}
			if !law.active { // as Pacer.Wait: no Start before the law is active
				heap.Push(&ev, e)
				continue
			}
			if tk, ok := law.start(e.at); ok {
				e.tk = tk
				heap.Push(&ev, e)
				continue
			}
			g := gates[e.worker/s.workers]
			g.queue = append(g.queue, e)
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
			tk, d, res := law.reserve(e.at)
			if res == nil && d > 0 { // paused: the waiter asks again after
				heap.Push(&ev, simEvent{at: e.at.Add(d), kind: simGate, worker: e.worker})
				continue
			}
			g.queue = g.queue[1:]
			w.at, w.tk = e.at.Add(d), tk
			heap.Push(&ev, w)
			heap.Push(&ev, simEvent{at: e.at.Add(d), kind: simGate, worker: e.worker})
		case simStart:
			res.requests++
			if res.first.IsZero() {
				res.first = e.at
			}
			e.kind = simArrive
			if s.arrival > 0 {
				e.at = e.at.Add(time.Duration(jitter.Int64N(int64(s.arrival))))
			}
			heap.Push(&ev, e)
		case simArrive:
			o, b := s.crm.arrive(e.at)
			took := s.latency
			if s.jitter > 0 {
				took += time.Duration(jitter.Int64N(int64(s.jitter)))
			}
			switch o {
			case paceThrottled:
				took = s.refuseIn
			case simHang:
				took, o = s.timeout, paceOther
			}
			e.kind, e.o, e.b = simAnswer, o, b
			e.at = e.at.Add(took)
			heap.Push(&ev, e)
		case simAnswer:
			if !s.unpaced && !s.fixed {
				shareLimits(e.at)
				law.answer(e.at, e.tk, e.o, e.b)
				if i := e.worker / s.workers; s.trace != nil {
					st := fmt.Sprintf("#%d rate %.1f peak %.1f noise %.3f trial %v probing %v", i, law.rate, law.peak, law.noise, law.trial != nil, law.probing)
					if st != lastTrace[i] {
						extra := ""
						if rc, ok := s.crm.(*randomCRM); ok && rc.next != nil {
							extra = fmt.Sprintf(" limit refused %d", rc.next.(*bucketCRM).refused)
						}
						s.trace(fmt.Sprintf("%8.3fs %s (refused %d of %d%s)", e.at.Sub(t0).Seconds(), st, res.refused, res.requests, extra))
						lastTrace[i] = st
					}
				}
			}
			if e.o == paceAccepted {
				accepted++
				res.acceptedBy[e.worker/s.workers]++
				res.last = e.at
			} else {
				failures[e.rec]++
				wait := min(s.retryDelay<<min(failures[e.rec]-1, 20), s.retryMax)
				if e.o == paceThrottled {
					res.refused++
					if !s.noRetryAfter {
						wait = s.retryAfter
					}
				}
				at := e.at.Add(wait)
				i, _ := slices.BinarySearchFunc(due, at, func(a simDue, b time.Time) int { return a.at.Compare(b) })
				due = slices.Insert(due, i, simDue{at: at, rec: e.rec})
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
