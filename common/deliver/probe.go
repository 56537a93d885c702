package deliver

import (
	"context"

	"goquiz/common"
)

// probeJob picks the record of a probe of a CRM that looks down, when the
// Queue is a common.ProbeClaimer: the latest due record not held, of the
// kind that the last probe's answer favours (see probed); else own, the
// worker's record, when it is of that kind; else the latest due record of
// the other kind, or own. The next record in line is no good probe: when
// a run of records that fail whatever the CRM's health is at the head of
// the queue, probes sent with them would never find the CRM up; when the
// CRM takes retries and refuses first attempts, probes sent with
// never-tried records would never get an answer either. The worker's own
// record must count for its kind all the same: when the only records of
// the favoured kind are held by this integrator's workers, waiting for
// the CRM to come back, a probe that always claimed one of the other kind
// would never try them (the last two good records behind a run of
// records that always fail were so left for good). It returns false when
// the probe goes with own.
func (d *Deliverer) probeJob(ctx context.Context, own job) (job, bool) {
	pc, ok := d.q.(common.ProbeClaimer)
	if !ok {
		return own, false
	}
	// The claimer's sweep ends every claim of ours not held: it must not
	// run between the claim and its holding.
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	tried := d.probeTried
	for _, kind := range []bool{tried, !tried} {
		c, err := pc.ClaimProbe(ctx, kind, d.cfg.Lease)
		if err != nil {
			// The claim may have committed all the same: sweep soon.
			d.lostClaim.Store(true)
			d.log.Debug("claim a probe record: probing with the next record instead", "error", err)
			return own, false
		}
		if len(c.Records) > 0 {
			d.claimed.Add(int64(len(c.Records)))
			return job{claim: d.held.add(c), record: c.Records[0]}, true
		}
		if (own.record.Attempts > 0) == kind {
			return own, false
		}
	}
	return own, false
}

// probed notes the answer to a probe sent with a record that failed before
// (tried) or was never tried: the next probe asks for a record of the same
// kind when the CRM took it, of the other kind when it did not. A CRM
// down for good is so probed with both kinds in turn.
func (d *Deliverer) probed(tried, sent bool) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	d.probeTried = tried == sent
}
