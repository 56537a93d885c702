package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/harness"
)

// The rate-limited CRM of the rate-limit targets: R requests per second
// with a burst of a tenth of it, 2 ms a request.
const (
	limitRPS     = 500
	limitBurst   = 50
	limitLatency = 2 * time.Millisecond
)

// crmRun is one delivery of n preloaded records by integrators
// integrators to an in-process mock CRM configured by crm.
type crmRun struct {
	n           int64
	integrators int
	workers     int // WORKERS of each integrator
	crm         mockcrm.Config
	env         []string      // added to each integrator's environment
	timeout     time.Duration // the run stops incomplete after this; 0: none
}

// limited is what one run measured.
type limited struct {
	rate     float64 // customers accepted per second, first request to last acceptance
	refused  float64 // share of all requests refused by the rate limits
	span     time.Duration
	accepted int64   // customers accepted (n when complete)
	complete bool    // every record accepted and marked sent before the timeout
	shares   []int64 // answers 200 by integrator
	early    int64   // requests sent before the Retry-After of their last 429 or 503
	st       mockcrm.Stats
}

// deliverLimited delivers n preloaded records through integrators
// integrators (WORKERS=8, the defaults otherwise, env added) to the
// rate-limited CRM of the rate-limit targets.
func (b *bench) deliverLimited(ctx context.Context, n int64, integrators int, env ...string) (limited, error) {
	return b.deliverTo(ctx, crmRun{
		n: n, integrators: integrators, workers: 8, env: env,
		crm: mockcrm.Config{RateLimitRPS: limitRPS, RateLimitBurst: limitBurst, Latency: limitLatency},
	})
}

// deliverTo runs r: each integrator POSTs to a path of its own, so that
// the CRM tells their shares apart. A run that reaches its timeout is
// measured on what was accepted by then, and is not complete. Every
// customer must be accepted once (Stats.Accepted counts new keys,
// AcceptedCount distinct ids: a key changed between attempts would show).
func (b *bench) deliverTo(ctx context.Context, r crmRun) (limited, error) {
	dsn, err := b.preload(ctx, r.n)
	if err != nil {
		return limited{}, err
	}
	crm, err := startTimedCRM(r.crm, r.integrators)
	if err != nil {
		return limited{}, err
	}
	defer crm.close()
	var ps []*harness.Process
	defer func() {
		for _, p := range ps {
			p.Kill()
		}
	}()
	for i := range r.integrators {
		p, err := b.startIntegrator(ctx, dsn, crm.URL+"/"+strconv.Itoa(i), r.workers, r.env...)
		if err != nil {
			return limited{}, err
		}
		ps = append(ps, p)
	}
	waitCtx, cancel := ctx, context.CancelFunc(func() {})
	if r.timeout > 0 {
		waitCtx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	defer cancel()
	complete := true
	if _, err := waitAccepted(waitCtx, crm.srv, r.n); err != nil {
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return limited{}, err
		}
		complete = false
	}
	if complete {
		if err := waitAllSent(ctx, dsn); err != nil {
			return limited{}, err
		}
	}
	for _, p := range ps {
		p.Stop()
	}
	ps = nil
	st := crm.srv.Stats()
	if ids := crm.srv.AcceptedCount(); st.Accepted != ids || (complete && st.Accepted != r.n) {
		return limited{}, fmt.Errorf("the CRM accepted %d keys for %d customers of %d", st.Accepted, ids, r.n)
	}
	span := time.Duration(crm.lastAccept.Load() - crm.first.Load())
	m := limited{span: span, accepted: st.Accepted, complete: complete, shares: crm.oks(), early: crm.early.Load(), st: st}
	if span > 0 {
		m.rate = float64(st.Accepted) / span.Seconds()
	}
	if st.Requests > 0 {
		m.refused = float64(st.Throttled) / float64(st.Requests)
	}
	return m, nil
}

// rateLimit measures the rate-limit targets: the customers accepted per
// second against the CRM's allowed rate R, and the share of requests
// refused, alone, with MAX_RATE=R and with two integrators.
func (b *bench) rateLimit(ctx context.Context) ([]row, error) {
	n := b.limitN
	runs := []struct {
		name        string
		integrators int
		env         []string
		minRatio    float64
		maxRefused  float64
	}{
		{"", 1, nil, 0.9, 0.05},
		{", MAX_RATE=500", 1, []string{"MAX_RATE=500"}, 0.95, 0.01},
		{", two integrators", 2, nil, 0.85, 0.10},
	}
	var rows []row
	for _, r := range runs {
		m, err := b.deliverLimited(ctx, n, r.integrators, r.env...)
		if err != nil {
			return nil, err
		}
		if err := once(m.st, n); err != nil {
			return nil, err
		}
		ratio := m.rate / limitRPS
		b.logf("rate limit%s: %.0f/s accepted, %.1f%% of %d requests refused", r.name, m.rate, 100*m.refused, m.st.Requests)
		rows = append(rows, row{
			target:   fmt.Sprintf("7. deliver %d to a CRM allowing %d/s (burst %d, 2 ms)%s", n, limitRPS, limitBurst, r.name),
			measured: fmt.Sprintf("%.0f/s accepted, %.1f%% of %d requests refused", m.rate, 100*m.refused, m.st.Requests),
			ratio:    ratio,
			bound:    fmt.Sprintf(">= %.2f, <= %.0f%% refused", r.minRatio, 100*r.maxRefused),
			pass:     ratio >= r.minRatio && m.refused <= r.maxRefused,
		})
	}
	return rows, nil
}
