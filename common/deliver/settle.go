package deliver

import (
	"context"
	"time"

	"goquiz/common"
)

// settle records results in batches: after the first result of a batch
// arrives it sleeps SettleDelay, then writes whatever has arrived since.
// At full speed that makes one statement and one commit per hundred or so
// records instead of one per few, and costs one wake-up per batch instead
// of one per outcome; a lone outcome is written SettleDelay after it
// arrived. It returns when results is closed and drained.
func (d *Deliverer) settle(ctx context.Context, results <-chan result) {
	batch := make([]result, 0, 2*d.cfg.Batch)
	outcomes := make([]common.Outcome, 0, 2*d.cfg.Batch)
	for first := range results {
		batch = append(batch[:0], first)
		if d.cfg.SettleDelay > 0 && len(results) < cap(results)/2 {
			// Bounded and short: not worth a wake-up on ctx.
			time.Sleep(d.cfg.SettleDelay)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		outcomes = outcomes[:0]
		for _, r := range batch {
			if r.attempted {
				outcomes = append(outcomes, r.outcome)
			}
		}
		d.write(ctx, batch, outcomes)
	}
}

// write records the outcomes of one batch and ends the claims it
// finishes, retrying while the store is out of reach (see retryStore).
func (d *Deliverer) write(ctx context.Context, batch []result, outcomes []common.Outcome) {
	finished, reclaimable := d.held.decide(batch)
	if len(outcomes) == 0 && len(finished) == 0 {
		return
	}
	err := d.retryStore(ctx, "record delivery outcomes", func(ctx context.Context) error {
		return d.q.Settle(ctx, outcomes, finished)
	})
	if err != nil {
		d.held.writeFailed(batch)
		d.log.Error("could not record delivery outcomes before shutdown; the records are resent after their lease", "records", len(outcomes), "error", err)
		return
	}
	d.released.Add(int64(d.held.end(finished)))
	var sent, gaveUp, rejected int64
	for _, o := range outcomes {
		switch {
		case o.Sent:
			sent++
		case o.Reject:
			rejected++
		case o.GiveUp:
			gaveUp++
		}
	}
	failed := int64(len(outcomes)) - sent
	d.delivered.Add(sent)
	d.failed.Add(failed)
	d.gaveUp.Add(gaveUp)
	d.rejected.Add(rejected)
	if d.cfg.Observer != nil && len(outcomes) > 0 {
		d.cfg.Observer.Settled(int(sent), int(failed))
	}
	if rejected > 0 {
		d.reportRejected(outcomes)
	}
	if reclaimable {
		select {
		case d.retried <- struct{}{}:
		default:
		}
	}
}

// reportRejected tells the RejectObserver, if any, of the rejected
// records among outcomes, by status.
func (d *Deliverer) reportRejected(outcomes []common.Outcome) {
	ro, ok := d.cfg.Observer.(common.RejectObserver)
	if !ok {
		return
	}
	byStatus := map[int]int{}
	for _, o := range outcomes {
		if o.Reject {
			byStatus[o.Status]++
		}
	}
	for status, n := range byStatus {
		ro.Rejected(status, n)
	}
}

// Store calls are tried again after failing: each try bounded by
// storeCallTimeout, and, once the Deliverer is stopping, all tries by
// shutdownGrace.
const (
	storeCallTimeout = 30 * time.Second
	shutdownGrace    = 30 * time.Second
)

// giveUpAt returns when the store calls of a shutdown stop being tried
// again: the Deliverer's grace (shutdownGrace) after the first time it is
// asked.
func (d *Deliverer) giveUpAt() time.Time {
	d.stopping.Do(func() { d.giveUp = time.Now().Add(d.grace) })
	return d.giveUp
}

// retryStore calls f until it succeeds. While ctx is live it tries for
// ever, since the store will come back; once ctx is done (shutdown), until
// the grace after the first store call that failed during the
// shutdown, for all calls together, then it returns the last error.
// Failures are logged as "<what>: will retry", the first and every 20th.
func (d *Deliverer) retryStore(ctx context.Context, what string, f func(context.Context) error) error {
	for n := 1; ; n++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeCallTimeout)
		err := f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && time.Now().After(d.giveUpAt()) {
			return err
		}
		if n == 1 || n%20 == 0 {
			d.log.Error(what+": will retry", "error", err)
		}
		time.Sleep(common.StorePause(n)) // at most 2s, and needed even once ctx is done
	}
}
