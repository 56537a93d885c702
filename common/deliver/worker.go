package deliver

import (
	"context"
	"slices"
	"time"

	"goquiz/common/pace"

	"goquiz/common"
)

// task is one record handed to a worker, with the claim it came in.
type task struct {
	h *holding
	d common.ClaimedRecord
}

// result is what became of a task: the outcome of its attempt, or, when
// attempted is false, nothing was sent (the Deliverer is stopping, or the
// claim's lease ran out).
type result struct {
	task      task
	outcome   common.Outcome
	attempted bool
}

// work sends records until work is closed; records it took but did not
// send are reported as not attempted.
func (d *Deliverer) work(ctx context.Context, work <-chan task, results chan<- result) {
	// In-flight requests finish after ctx is cancelled: a delivered record
	// must be recorded as such.
	reqBase := context.WithoutCancel(ctx)
	for t := range work {
		if int64(len(work)) <= d.lowWater.Load() {
			select {
			case d.hungry <- struct{}{}:
			default:
			}
		}
		if ctx.Err() != nil {
			results <- result{task: t}
			continue
		}
		// The pacer first: a probe ticket of the breaker must not be
		// taken and then held while the pacer makes it wait.
		pt, err := d.pace.Wait(ctx)
		if err != nil {
			results <- result{task: t}
			continue
		}
		tk, err := d.brk.acquire(ctx)
		if err != nil {
			results <- result{task: t}
			continue
		}
		// Checked after the waits, which can be long, and just before the
		// request starts. A start the pacer allowed and that is not used
		// is not given back: the pacer errs on the side of sending less.
		if d.fenced(t.h) {
			d.brk.abandon(tk)
			results <- result{task: t}
			continue
		}
		results <- result{task: t, outcome: d.attempt(reqBase, t, tk, pt), attempted: true}
	}
}

// attempt sends one record and returns its outcome.
func (d *Deliverer) attempt(base context.Context, t task, tk ticket, pt pace.Start) common.Outcome {
	r := t.d
	d.attempts.Add(1)
	ctx, cancel := context.WithTimeout(base, d.cfg.RequestTimeout)
	start := time.Now()
	// The request starts now, not when the pacer let it: a wait for the
	// breaker in between is not part of the CRM's round trip.
	pt = pt.StartedAt(start)
	budget, err := d.pub.Publish(ctx, r.Customer)
	cancel()
	failure := common.AsPublishError(err)
	if !tk.probe { // a probe of a CRM taken as down says nothing of its rate
		d.pace.Done(pt, failure, budget)
	}
	d.brk.report(tk, failure)
	if d.cfg.Observer != nil {
		d.cfg.Observer.Attempt(time.Since(start), failure)
	}
	if failure == nil {
		return common.Outcome{ID: r.ID, Version: r.Version, Claim: t.h.id, Sent: true}
	}
	failures := r.Attempts + 1
	if failure.Kind == common.FailStatus && slices.Contains(d.cfg.GiveUpOn, failure.Status) {
		reason := failure.Refusal()
		d.log.Debug("delivery refused for good: record rejected", "id", r.ID, "attempt", failures, "reason", reason)
		return common.Outcome{ID: r.ID, Claim: t.h.id, Err: reason, Reject: true, Status: failure.Status}
	}
	if d.cfg.MaxAttempts > 0 && failures >= d.cfg.MaxAttempts {
		d.log.Debug("delivery failed: giving up", "id", r.ID, "attempt", failures, "error", failure)
		return common.Outcome{ID: r.ID, Version: r.Version, Claim: t.h.id, Err: failure.Error(), GiveUp: true}
	}
	wait := retryDelay(failure, failures, d.cfg.RetryDelay, d.cfg.RetryMaxDelay)
	d.log.Debug("delivery failed", "id", r.ID, "attempt", failures, "retry_in", wait, "error", failure)
	return common.Outcome{ID: r.ID, Version: r.Version, Claim: t.h.id, RetryIn: wait, Err: failure.Error()}
}
