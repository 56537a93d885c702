package pace

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"goquiz/common"
)

// Config tunes a Pacer.
type Config struct {
	MaxRate  float64               // cap on request starts per second, all workers (0: none)
	Fixed    bool                  // adaptation off: only MaxRate paces
	Workers  int                   // requests allowed in flight, reported to the Observer
	Logger   *slog.Logger          // told when the limit moves by a factor of two (default slog.Default())
	Observer common.PaceObserver   // if not nil, told the limits when they change
	OnQuota  func(until time.Time) // if not nil, told of a quota pause (a minute or longer)
}

// quotaWait is the shortest wait a throttle or a spent budget asks for
// that pauses all requests to the CRM until then: a quota, not a rate.
const quotaWait = common.QuotaWait

// Pacer paces the requests of all of a process's workers to the CRM with
// MaxRate and the adaptive law of law.go. Until the CRM first throttles
// or announces a budget, and without MaxRate, Wait costs one atomic load
// and never waits. It is safe for concurrent use.
type Pacer struct {
	active           atomic.Bool
	cfg              Config
	gate             chan struct{} // held by the requests waiting for a start
	mu               sync.Mutex
	law              *law
	reported, logged float64   // the limits last reported (NaN: none) and logged (+Inf: none)
	loggedQuota      time.Time // the end of the quota pause last logged
	// now and sleep are the clock: the real one, or a test's.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// New returns a Pacer configured by cfg, on the real clock.
func New(cfg Config) *Pacer { return newPacer(cfg, time.Now, sleepCtx) }

// newPacer returns a Pacer configured by cfg that reads the time with now
// and waits with sleep.
func newPacer(cfg Config, now func() time.Time, sleep func(context.Context, time.Duration) error) *Pacer {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	p := &Pacer{cfg: cfg, gate: make(chan struct{}, paceWaiters), law: newLaw(cfg.MaxRate, now()),
		reported: math.NaN(), logged: math.Inf(1), now: now, sleep: sleep}
	p.active.Store(p.law.active)
	p.report()
	return p
}

// Wait waits until a request may start and returns its Start, to be
// handed back to Done with the answer. It returns ctx's error if ctx ends
// first; the request must then not be sent.
func (p *Pacer) Wait(ctx context.Context) (Start, error) {
	if !p.active.Load() {
		return Start{}, nil
	}
	p.mu.Lock()
	st, ok := p.law.start(p.now())
	p.mu.Unlock()
	if ok {
		return st, nil
	}
	// A few at a time wait for the next starts: a cut applies a few
	// requests later, not after starts every worker reserved before.
	select {
	case p.gate <- struct{}{}:
	case <-ctx.Done():
		return Start{}, ctx.Err()
	}
	defer func() { <-p.gate }()
	for {
		p.mu.Lock()
		st, d, res := p.law.reserve(p.now())
		p.mu.Unlock()
		if d <= 0 {
			return st, nil
		}
		if err := p.sleep(ctx, d); err != nil {
			if res != nil {
				p.mu.Lock()
				res.CancelAt(p.now())
				p.mu.Unlock()
			}
			return Start{}, err
		}
		if res != nil { // else paused: ask again
			return st, nil
		}
	}
}

// PauseUntil pauses every start until until, a quota pause noted before
// this Pacer existed (by a run before a restart, or another integrator):
// no request is sent before it, and sending then resumes as before.
// OnQuota is not called: the pause is known already.
func (p *Pacer) PauseUntil(until time.Time) {
	if p.cfg.Fixed {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !until.After(now) {
		return
	}
	if !p.law.active {
		p.law.active, p.law.roundAt = true, now
	}
	p.law.budget(now, common.Budget{Known: true, Reset: until.Sub(now)})
	p.active.Store(true)
}

// FoundLimit tells whether the law's own test found the CRM's rate limit
// and no later test found noise instead, and the rate at which the CRM
// takes this integrator's requests (per second, over the last 1-2 s):
// what a LimitSharer tells the peers (never found before the Pacer is
// active: no test ran).
func (p *Pacer) FoundLimit() (taken float64, found bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.law.taken.recent(p.now()), p.law.found
}

// SetPeerLimits tells the law the rates of the other integrators whose
// pacing found the CRM's rate limit (none: no peer did). Refusals that do
// not fall when this integrator alone slows down are then the shared
// limit's, not noise, and the law raises its rate to the fair share of
// what they all take.
func (p *Pacer) SetPeerLimits(rates []float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.law.peers(p.now(), rates)
}

// Active tells whether the law is active: the CRM throttled or announced
// a budget, or MaxRate is set.
func (p *Pacer) Active() bool { return p.active.Load() }

// Done takes in the answer to the request of st: its failure (nil when
// accepted) and the budget the CRM announced.
func (p *Pacer) Done(st Start, failure *common.PublishError, b common.Budget) {
	if p.cfg.Fixed {
		return
	}
	o, now := paceAccepted, p.now()
	switch {
	case failure == nil:
	case !failure.Throttled():
		o = paceOther
	case failure.Quota():
		// A quota: it pauses everything, and tells nothing of a rate.
		o, b = paceOther, common.Budget{Known: true, Reset: failure.Wait()}
	default:
		o = paceThrottled
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	paused := p.law.pausedUntil
	p.law.answer(now, st, o, b)
	p.active.Store(p.law.active)
	if until := p.law.pausedUntil; until.Sub(now) >= quotaWait && until.After(paused) {
		switch {
		case paused.Sub(now) < quotaWait: // not already paused for a quota
			p.cfg.Logger.Warn("the CRM's quota is spent: no request is sent before it is renewed", "until", until.UTC().Format(time.RFC3339))
			p.loggedQuota = until
		case until.Sub(p.loggedQuota) >= time.Second: // a later answer asks for longer
			p.cfg.Logger.Warn("the CRM's quota pause is extended: no request is sent before it is renewed", "until", until.UTC().Format(time.RFC3339))
			p.loggedQuota = until
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
	lim := p.law.limit(p.now())
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
	case !math.IsInf(lim, 1) && (lim <= prev/2 || lim >= prev*2): // prev/2 is +Inf for none
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
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d): // collected when not stopped, since Go 1.23
		return nil
	}
}
