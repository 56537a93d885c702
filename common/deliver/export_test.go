package deliver

import "time"

// SetShutdownGrace sets how long d, once stopping, tries the store (30s
// otherwise), for tests of a shutdown with the store down.
func SetShutdownGrace(d *Deliverer, grace time.Duration) { d.grace = grace }

// CRMDown tells whether d takes the CRM as down now.
func (d *Deliverer) CRMDown() bool { return d.brk.isDown() }

// Stats are the counts of what a Deliverer did since it started.
type Stats = counts

// Stats returns d's counts so far.
func (d *Deliverer) Stats() Stats { return d.counts() }
