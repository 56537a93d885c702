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
	MaxRate  float64               // cap on request starts per second, all workers (0: none)
	Fixed    bool                  // adaptation off: only MaxRate paces
	Workers  int                   // requests allowed in flight, reported to the Observer
	Logger   *slog.Logger          // told when the limit moves by a factor of two (default slog.Default())
	Observer PaceObserver          // if not nil, told the limits when they change
	OnQuota  func(until time.Time) // if not nil, told of a quota pause (QuotaWait or longer)

	// now and sleep are the clock (default: the real one), for tests.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// QuotaWait is the shortest wait a throttle or a spent budget asks for
// that pauses all requests to the CRM until then: a quota, not a rate.
const QuotaWait = time.Minute

// PaceObserver is told a Pacer's limits in force, requests per second (0:
// none) and in flight. Pace is called with answers, and must be quick.
type PaceObserver interface {
	Pace(ratePerSecond float64, inFlight int)
}

// Pacer paces the requests of all of a process's workers to the CRM with
// MaxRate and the adaptive law of paceLaw. Until the CRM first throttles
// or announces a budget, and without MaxRate, Wait costs one atomic load
// and never waits. It is safe for concurrent use.
type Pacer struct {
	active           atomic.Bool
	cfg              PaceConfig
	gate             chan struct{} // held by the requests waiting for a start
	mu               sync.Mutex
	law              *paceLaw
	reported, logged float64 // the limits last reported (NaN: none) and logged (+Inf: none)
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
	p := &Pacer{cfg: cfg, gate: make(chan struct{}, paceWaiters), reported: math.NaN(), logged: math.Inf(1)}
	p.law = newPaceLaw(cfg.MaxRate, cfg.now())
	p.active.Store(p.law.active)
	p.mu.Lock()
	p.report()
	p.mu.Unlock()
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
	tk, ok := p.law.start(p.cfg.now())
	p.mu.Unlock()
	if ok {
		return tk, nil
	}
	// A few at a time wait for the next starts: a cut applies a few
	// requests later, not after starts every worker reserved before.
	select {
	case p.gate <- struct{}{}:
	case <-ctx.Done():
		return paceTicket{}, ctx.Err()
	}
	defer func() { <-p.gate }()
	for {
		p.mu.Lock()
		tk, d, res := p.law.reserve(p.cfg.now())
		p.mu.Unlock()
		if d <= 0 {
			return tk, nil
		}
		if err := p.cfg.sleep(ctx, d); err != nil {
			if res != nil {
				p.mu.Lock()
				res.CancelAt(p.cfg.now())
				p.mu.Unlock()
			}
			return paceTicket{}, err
		}
		if res != nil { // else paused: ask again
			return tk, nil
		}
	}
}

// Done takes in the answer to the request of tk: its failure (nil when
// accepted) and the budget the CRM announced.
func (p *Pacer) Done(tk paceTicket, failure *PublishError, b Budget) {
	if p.cfg.Fixed {
		return
	}
	o, now := paceAccepted, p.cfg.now()
	if failure != nil {
		o = paceOther
		if failure.Throttled() {
			o = paceThrottled
		}
		// A quota: a throttle asking for a minute or more (up to a day)
		// pauses everything, and tells nothing of a rate.
		if w := failure.Wait(); o == paceThrottled && w >= QuotaWait && w <= 24*time.Hour {
			o, b = paceOther, Budget{Known: true, Reset: w}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	paused := p.law.pausedUntil
	p.law.answer(now, tk, o, b)
	p.active.Store(p.law.active)
	if until := p.law.pausedUntil; until.Sub(now) >= QuotaWait && until.After(paused) {
		if paused.Sub(now) < QuotaWait { // not already paused for a quota
			p.cfg.Logger.Warn("the CRM's quota is spent: no request is sent before it is renewed", "until", until.UTC().Format(time.RFC3339))
		}
		if p.cfg.OnQuota != nil {
			p.cfg.OnQuota(until)
		}
	}
	p.report()
}

// report tells the observer of the limit in force when it changed, and
// logs a step of a factor of two or more. p.mu is held.
func (p *Pacer) report() {
	lim := p.law.limit(p.cfg.now())
	if lim == p.reported {
		return
	}
	p.reported = lim
	if p.cfg.Observer != nil {
		p.cfg.Observer.Pace(perSecond(lim), p.cfg.Workers)
	}
	prev := p.logged
	switch {
	case math.IsInf(lim, 1) && !math.IsInf(prev, 1):
		p.cfg.Logger.Info("pacing off: no limit on the rate of requests to the CRM")
	case !math.IsInf(lim, 1) && (math.IsInf(prev, 1) || lim <= prev/2 || lim >= prev*2):
		p.cfg.Logger.Info("pacing requests to the CRM", "max_per_second", math.Round(lim*100)/100, "previous", math.Round(perSecond(prev)*100)/100)
	default:
		return
	}
	p.logged = lim
}

// perSecond returns lim for reporting: 0 for no limit.
func perSecond(lim float64) float64 {
	if math.IsInf(lim, 1) {
		return 0
	}
	return lim
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
