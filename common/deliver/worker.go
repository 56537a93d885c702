package deliver

import (
	"context"
	"slices"
	"time"

	"goquiz/common"
	"goquiz/common/pace"
)

// job is one record handed to a worker, with the claim it came in.
type job struct {
	claim  *heldClaim
	record common.ClaimedRecord
}

// result is what became of a job: the outcome of its attempt, or, when
// attempted is false, nothing was sent (the Deliverer is stopping, or the
// claim's lease ran out).
type result struct {
	job       job
	outcome   common.Outcome
	attempted bool
}

// work sends records until work is closed; records it took but did not
// send are reported as not attempted.
func (d *Deliverer) work(ctx context.Context, work <-chan job, results chan<- result) {
	// In-flight requests finish after ctx is cancelled: a delivered record
	// must be recorded as such.
	reqBase := context.WithoutCancel(ctx)
	for j := range work {
		if int64(len(work)) <= d.lowWater.Load() {
			select {
			case d.needWork <- struct{}{}:
			default:
			}
		}
		d.send(ctx, reqBase, j, results)
	}
}

// send sends j, once the pacer and the breaker let it, and reports its
// result; when ctx is done first, it reports j as not attempted. When the
// breaker's permit is for a probe, the probe goes with a record of its
// own if one can be claimed (see probeJob), and j waits for the next
// permit.
func (d *Deliverer) send(ctx, reqBase context.Context, j job, results chan<- result) {
	for {
		if ctx.Err() != nil {
			results <- result{job: j}
			return
		}
		// The pacer first: the breaker's permit for a probe must not be
		// taken and then held while the pacer makes it wait.
		paceStart, err := d.pacer.Wait(ctx)
		if err != nil {
			results <- result{job: j}
			return
		}
		permit, err := d.brk.acquire(ctx)
		if err != nil {
			results <- result{job: j}
			return
		}
		next, own := j, true
		if permit.probe {
			var claimed bool
			next, claimed = d.probeJob(ctx, j)
			own = !claimed
		}
		// Checked after the waits, which can be long, and just before the
		// request starts. A start the pacer allowed and that is not used
		// is not given back: the pacer errs on the side of sending less.
		// A record replaced by a newer version while it waited is given
		// back unsent: the newer one is claimed once this claim ends.
		replaced := d.waiting != nil && d.waiting.take(next.record)
		if replaced {
			d.replaced.Add(1)
			d.log.Debug("a newer version was stored before this one was sent: not sending it", "id", next.record.ID, "version", next.record.Version)
		}
		if replaced || d.fenced(next.claim) {
			d.brk.abandon(permit)
			results <- result{job: next}
			if own {
				return
			}
			continue
		}
		outcome := d.attempt(reqBase, next, permit, paceStart)
		results <- result{job: next, outcome: outcome, attempted: true}
		if own {
			return
		}
		d.probed(next.record.Attempts > 0, outcome.Sent)
	}
}

// attempt sends one record and returns its outcome.
func (d *Deliverer) attempt(base context.Context, j job, permit permit, paceStart pace.Start) common.Outcome {
	r := j.record
	d.attempts.Add(1)
	ctx, cancel := context.WithTimeout(base, d.cfg.RequestTimeout)
	start := time.Now()
	// The request starts now, not when the pacer let it: a wait for the
	// breaker in between is not part of the CRM's round trip.
	paceStart = paceStart.StartedAt(start)
	budget, err := d.pub.Publish(ctx, r.Customer)
	cancel()
	failure := common.AsPublishError(err)
	// A probe of a CRM taken as down says nothing of its rate; a quota it
	// meets holds every request all the same, probes included.
	if !permit.probe || isQuota(failure, budget) {
		d.pacer.Done(paceStart, failure, budget)
	}
	d.brk.report(permit, failure)
	if d.cfg.Observer != nil {
		d.cfg.Observer.Attempt(time.Since(start), failure)
	}
	if failure == nil {
		return common.Outcome{ID: r.ID, Version: r.Version, Claim: j.claim.id, Sent: true}
	}
	failures := r.Attempts + 1
	if failure.Kind == common.FailStatus && slices.Contains(d.cfg.GiveUpOn, failure.Status) {
		reason := failure.Refusal()
		d.log.Debug("delivery refused for good: record rejected", "id", r.ID, "attempt", failures, "reason", reason)
		return common.Outcome{ID: r.ID, Version: r.Version, Claim: j.claim.id, Err: reason, Reject: true, Status: failure.Status}
	}
	if d.cfg.MaxAttempts > 0 && failures >= d.cfg.MaxAttempts {
		d.log.Debug("delivery failed: giving up", "id", r.ID, "attempt", failures, "error", failure)
		return common.Outcome{ID: r.ID, Version: r.Version, Claim: j.claim.id, Err: failure.Error(), GiveUp: true}
	}
	wait := retryDelay(failure, failures, d.cfg.RetryDelay, d.cfg.RetryMaxDelay)
	d.log.Debug("delivery failed", "id", r.ID, "attempt", failures, "retry_in", wait, "error", failure)
	return common.Outcome{ID: r.ID, Version: r.Version, Claim: j.claim.id, RetryIn: wait, Err: failure.Error()}
}

// isQuota tells whether an answer asks that nothing be sent to the CRM
// for a minute or more (common.QuotaWait): a throttle that asks for a
// quota's wait, or a budget spent until that far ahead.
func isQuota(failure *common.PublishError, b common.Budget) bool {
	return failure.Quota() || b.Known && b.Remaining == 0 && b.Reset >= common.QuotaWait
}
