package common

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// PaceConfig tunes a Pacer.
type PaceConfig struct {
	// MaxRate caps request starts, in requests per second across all
	// workers (0: no cap). The adaptive limit never exceeds it.
	MaxRate float64
	// Fixed switches adaptation off: only MaxRate paces, and answers
	// (throttles, budgets) change nothing.
	Fixed bool
	// Workers is the number of requests allowed in flight, reported to
	// the Observer (the Deliverer's workers enforce it).
	Workers int
	// Logger receives one line when the limit moves by a large step
	// (default slog.Default()).
	Logger *slog.Logger
	// Observer, if not nil, is told the limits when they change.
	Observer PaceObserver

	// now and sleep are the clock (default: the real one), for tests.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// PaceObserver is told a Pacer's limits. Its method is called from the
// goroutines that report answers and must be quick.
type PaceObserver interface {
	// Pace reports the limits in force: requests per second (0: none)
	// and requests allowed in flight.
	Pace(ratePerSecond float64, inFlight int)
}

// Pacer paces the requests of all of a process's workers to the CRM: a
// smooth cap on request starts (MaxRate), and an adaptive limit found from
// the CRM's answers: a throttled answer (429, or 503 with Retry-After)
// lowers it, accepted answers raise it back step by step, and a budget the
// CRM announces is spread evenly until it is renewed (see paceLaw). Until
// the CRM first throttles or announces a budget, and without MaxRate, it
// costs one atomic load per call of Wait or Done and never waits. It is
// safe for concurrent use.
type Pacer struct {
	active   atomic.Bool
	fixed    bool
	workers  int
	log      *slog.Logger
	obs      PaceObserver
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	reported atomic.Uint64 // math.Float64bits of the limit last reported
	gate     chan struct{} // held by the requests waiting for a start

	mu     sync.Mutex
	law    *paceLaw
	logged float64 // the limit last logged; +Inf for none
}

// NewPacer returns a Pacer configured by cfg.
func NewPacer(cfg PaceConfig) *Pacer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.sleep == nil {
		cfg.sleep = sleepCtx
	}
	p := &Pacer{fixed: cfg.Fixed, workers: cfg.Workers, log: cfg.Logger, obs: cfg.Observer, now: cfg.now, sleep: cfg.sleep, logged: math.Inf(1), gate: make(chan struct{}, paceWaiters)}
	p.law = newPaceLaw(cfg.MaxRate, p.now())
	p.active.Store(p.law.active)
	p.reported.Store(math.Float64bits(math.NaN()))
	p.report(p.law.limit(p.now()))
	return p
}

// Wait waits until a request may start and returns its ticket, to be
// handed back to Done with the answer. It returns ctx's error if ctx ends
// first; the request must then not be sent.
func (p *Pacer) Wait(ctx context.Context) (paceTicket, error) {
	if !p.active.Load() {
		return paceTicket{}, nil
	}
	p.mu.Lock()
	tk, ok := p.law.start(p.now())
	p.mu.Unlock()
	if ok {
		return tk, nil
	}
	// A few requests at a time wait for the next starts, so that a cut
	// applies a few requests later, not after the starts that every
	// worker reserved before; more than one, so that a waiter slow to
	// wake up does not hold the others.
	select {
	case p.gate <- struct{}{}:
	case <-ctx.Done():
		return paceTicket{}, ctx.Err()
	}
	defer func() { <-p.gate }()
	for {
		p.mu.Lock()
		tk, d, res := p.law.reserve(p.now())
		p.mu.Unlock()
		if d <= 0 {
			return tk, nil
		}
		if err := p.sleep(ctx, d); err != nil {
			if res != nil {
				p.mu.Lock()
				res.CancelAt(p.now())
				p.mu.Unlock()
			}
			return paceTicket{}, err
		}
		if res != nil {
			return tk, nil
		}
	}
}

// Done takes in the answer to the request of tk: its failure (nil when
// accepted) and the budget the CRM announced.
func (p *Pacer) Done(tk paceTicket, failure *PublishError, b Budget) {
	if p.fixed {
		return
	}
	o := paceAccepted
	if failure != nil {
		o = paceOther
		if failure.Throttled() {
			o = paceThrottled
		}
	}
	p.mu.Lock()
	now := p.now()
	p.law.answer(now, tk, o, b)
	// The limit in force, not only what this answer changed: a budget's
	// ceiling ends as a request starts (see paceLaw.expire).
	lim := p.law.limit(now)
	p.active.Store(p.law.active)
	p.mu.Unlock()
	p.report(lim)
}

// Limit returns the limit on request starts in force, in requests per
// second; 0 when there is none.
func (p *Pacer) Limit() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return perSecond(p.law.limit(p.now()))
}

// report tells the observer of the limit lim when it is not the one last
// reported, and logs a large step.
func (p *Pacer) report(lim float64) {
	if old := math.Float64frombits(p.reported.Swap(math.Float64bits(lim))); old == lim {
		return
	}
	if p.obs != nil {
		p.obs.Pace(perSecond(lim), p.workers)
	}
	p.mu.Lock()
	prev := p.logged
	var large bool
	switch inf, was := math.IsInf(lim, 1), math.IsInf(prev, 1); {
	case inf || was:
		large = inf != was
	default:
		large = lim <= prev/2 || lim >= prev*2
	}
	if large {
		p.logged = lim
	}
	p.mu.Unlock()
	switch {
	case !large:
	case math.IsInf(lim, 1):
		p.log.Info("pacing off: no limit on the rate of requests to the CRM")
	default:
		p.log.Info("pacing requests to the CRM", "max_per_second", roundRate(lim), "previous", roundRate(perSecond(prev)))
	}
}

// paceObserverOf returns o as a PaceObserver, or nil when it is none.
func paceObserverOf(o Observer) PaceObserver {
	po, _ := o.(PaceObserver)
	return po
}

// perSecond returns lim for reporting: 0 for no limit.
func perSecond(lim float64) float64 {
	if math.IsInf(lim, 1) {
		return 0
	}
	return lim
}

// roundRate rounds a rate to two significant decimals for logs.
func roundRate(r float64) float64 {
	if r >= 100 {
		return math.Round(r)
	}
	return math.Round(r*100) / 100
}

// sleepCtx waits d or until ctx ends, and returns ctx's error if it ended.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
