package deliver

import (
	"context"
	"time"

	"goquiz/common"
)

// SetShutdownGrace sets how long d, once stopping, tries the store (30s
// otherwise), for tests of a shutdown with the store down.
func SetShutdownGrace(d *Deliverer, grace time.Duration) { d.grace = grace }

// CRMDown tells whether d takes the CRM as down now.
func (d *Deliverer) CRMDown() bool { return d.brk.isDown() }

// Stats are the counts of what a Deliverer did since it started.
type Stats = counts

// Stats returns d's counts so far.
func (d *Deliverer) Stats() Stats { return d.counts() }

// ProbeRecord returns the id of the record a probe would go with when the
// worker holds own and the last probe's answer favours records tried
// before (tried), and whether that record was claimed for the probe.
func (d *Deliverer) ProbeRecord(ctx context.Context, own common.ClaimedRecord, tried bool) (int64, bool) {
	d.probeTried = tried
	j, claimed := d.probeJob(ctx, job{claim: &heldClaim{}, record: own})
	return j.record.ID, claimed
}

// LimitFinder is what ShareLimits needs of a pacer.
type LimitFinder = limitFinder

// ShareLimits runs d's sharing of the rate limit p found through ls,
// every interval, until ctx is done.
func (d *Deliverer) ShareLimits(ctx context.Context, ls common.LimitSharer, p LimitFinder, interval time.Duration) {
	d.shareLimits(ctx, ls, p, interval)
}
