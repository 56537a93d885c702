package deliver

import (
	"context"
	"time"

	"goquiz/common"
)

// claim fills work with due records until ctx is cancelled. It returns
// the jobs of a claim it could not finish handing over.
func (d *Deliverer) claim(ctx context.Context, work chan<- job) []job {
	storeDown := 0
	// A claim whose answer was lost (the connection died after its commit)
	// reserved records under our name in a claim we never saw: sweep
	// every claim of ours that we do not hold, at once after a failed
	// claim and every Lease/3 anyway. Claims are made on this goroutine
	// only, but for probes' (which the sweep waits for), so every claim of
	// ours not held is such an orphan.
	lost := false
	var swept time.Time
	size := claimSizer{min: 2 * d.cfg.Workers, max: d.cfg.Batch}
	for ctx.Err() == nil {
		if d.lostClaim.Swap(false) {
			lost = true
		}
		if lost || time.Since(swept) > d.cfg.Lease/3 {
			if err := d.sweep(ctx); err == nil {
				lost, swept = false, time.Now()
			}
		}
		limit := size.next(d.attempts.Load())
		if !d.waitForRoom(ctx, work, limit) {
			return nil
		}
		wakes := d.wakes.Load()
		c, err := d.q.Claim(ctx, limit, d.cfg.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			lost = true
			storeDown++
			if storeDown == 1 || storeDown%20 == 0 {
				d.log.Error("claim records: will retry", "error", err)
			}
			d.idle(ctx, common.StorePause(storeDown))
			continue
		}
		if storeDown > 0 {
			d.log.Info("store reachable again")
			storeDown = 0
		}
		if len(c.Records) == 0 {
			d.idle(ctx, d.nextWait(ctx))
			continue
		}
		d.claimed.Add(int64(len(c.Records)))
		held := d.held.add(c)
		if d.waiting != nil {
			d.waiting.add(c.Records)
			if d.wakes.Load() != wakes {
				// A load announced records while the claim was made: the
				// watcher's look may have missed this claim's.
				d.pokeVersions()
			}
		}
		for i, r := range c.Records {
			select {
			case work <- job{claim: held, record: r}:
			case <-ctx.Done():
				rest := make([]job, 0, len(c.Records)-i)
				for _, r := range c.Records[i:] {
					rest = append(rest, job{claim: held, record: r})
				}
				return rest
			}
		}
		if len(c.Records) < limit {
			d.idle(ctx, d.nextWait(ctx))
		} // else more may be due
	}
	return nil
}

// sweep ends the claims of ours that are not held (see claim), but for a
// probe's being made (see probeJob).
func (d *Deliverer) sweep(ctx context.Context) error {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	return d.q.Sweep(ctx, d.held.ids())
}

// waitForRoom waits until at most limit records wait in work, so that a
// claim of limit more fits without blocking. It returns false when ctx is
// done first.
func (d *Deliverer) waitForRoom(ctx context.Context, work chan<- job, limit int) bool {
	d.lowWater.Store(int64(limit))
	for len(work) > limit {
		select {
		case <-d.needWork:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// claimSizer sizes claims to about a quarter of a second of work at the
// rate requests have been going out, between min and max.
type claimSizer struct {
	min, max int
	rate     float64 // requests per second, smoothed
	last     time.Time
	lastN    int64
}

// next returns the size of the next claim, given the number of requests
// sent so far.
func (s *claimSizer) next(sent int64) int {
	now := time.Now()
	if !s.last.IsZero() {
		if dt := now.Sub(s.last).Seconds(); dt > 0 {
			s.rate = (s.rate + float64(sent-s.lastN)/dt) / 2
		}
	}
	s.last, s.lastN = now, sent
	return min(max(int(s.rate/4), s.min), s.max)
}

// nextWait returns how long to wait for new work: until the earliest retry
// falls due, or the poll interval.
func (d *Deliverer) nextWait(ctx context.Context) time.Duration {
	wait := d.cfg.PollInterval
	due, ok, err := d.q.NextDue(ctx)
	if err != nil || !ok {
		return wait
	}
	// Something due but not claimable (locked by a claim in progress)
	// should not make us spin.
	return min(wait, max(due, 20*time.Millisecond))
}

// idle waits for a wake-up, the timeout or ctx.
func (d *Deliverer) idle(ctx context.Context, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.cfg.Wake:
	case <-d.retried:
	case <-t.C:
	}
}
