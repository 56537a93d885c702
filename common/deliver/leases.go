package deliver

import (
	"context"
	"time"
)

// keepLeases renews the leases of the claims held every Lease/3 until
// ctx is cancelled. A renewal that fails is tried again at the next tick;
// a claim not renewed for Lease is fenced (see fenced).
func (d *Deliverer) keepLeases(ctx context.Context) {
	t := time.NewTicker(d.cfg.Lease / 3)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := d.held.ids()
		if len(ids) == 0 {
			continue
		}
		start := time.Now()
		ectx, cancel := context.WithTimeout(ctx, d.cfg.Lease/3)
		renewed, err := d.q.Extend(ectx, ids, d.cfg.Lease)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				failures++
				if failures == 1 || failures%20 == 0 {
					d.log.Error("renew leases: will retry", "claims", len(ids), "error", err)
				}
			}
			continue
		}
		failures = 0
		d.held.renewed(renewed, start.Add(d.cfg.Lease))
	}
}

// fenced tells whether the records of h must no longer be sent: its lease
// was not renewed in time, so another integrator may have taken them over
// and be sending them now. They are given back instead; the store decides
// who holds them. The first record found fenced logs it.
func (d *Deliverer) fenced(h *heldClaim) bool {
	if !d.held.lapsed(h) {
		return false
	}
	if h.fenced.CompareAndSwap(false, true) {
		d.log.Warn("lease not renewed in time: not sending the rest of this claim (another integrator may be sending it); what was sent is recorded when the database answers",
			"claim", h.id, "lease", d.cfg.Lease)
	}
	return true
}
