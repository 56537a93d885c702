package deliver

import (
	"context"
	"sync"
	"time"

	"goquiz/common"
)

// quotas hands the quota pauses the pacer announces (under its lock, on
// the answer path) to a background writer: only the latest is kept.
type quotas struct {
	mu     sync.Mutex
	until  time.Time
	wake   chan struct{}
	inform func(until time.Time) // the Observer's, when it is a QuotaObserver
}

func newQuotas(obs common.DeliveryObserver) *quotas {
	q := &quotas{wake: make(chan struct{}, 1)}
	if qo, ok := obs.(common.QuotaObserver); ok {
		q.inform = qo.Quota
	}
	return q
}

// note takes in a pause until until; it never blocks.
func (q *quotas) note(until time.Time) {
	q.mu.Lock()
	if until.After(q.until) {
		q.until = until
	}
	q.mu.Unlock()
	if q.inform != nil {
		q.inform(until)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// resumeQuota reads the quota pause in force from the store, if it keeps
// them, and pauses the pacer until its end: a restart, or another
// integrator, spends no request on a quota already spent. A store that
// cannot tell is logged and delivery starts as it would.
func (d *Deliverer) resumeQuota(ctx context.Context) {
	noter, ok := d.q.(common.QuotaNoter)
	if !ok {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	until, err := noter.QuotaPause(cctx)
	cancel()
	if err != nil {
		d.log.Warn("could not read the CRM's quota pause; starting without it", "error", err)
		return
	}
	if until.After(time.Now()) {
		d.log.Warn("the CRM's quota is spent (noted before this start): no request is sent before it is renewed", "until", until.UTC().Format(time.RFC3339))
		d.pacer.PauseUntil(until)
		if d.quota.inform != nil { // the store has it: nothing to record
			d.quota.inform(until)
		}
	}
}

// recordQuotas writes each pause noted to the store, if it keeps them, until
// ctx is cancelled; a write that fails is tried again at the next pause or
// after a minute, while the pause lasts.
func (d *Deliverer) recordQuotas(ctx context.Context) {
	noter, ok := d.q.(common.QuotaNoter)
	if !ok {
		return
	}
	var written time.Time
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.quota.wake:
		case <-retry.C:
		}
		d.quota.mu.Lock()
		until := d.quota.until
		d.quota.mu.Unlock()
		if !until.After(written) || !until.After(time.Now()) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		err := noter.NoteQuota(cctx, until)
		cancel()
		if err != nil {
			d.log.Error("record the CRM's quota pause: will retry", "until", until.UTC().Format(time.RFC3339), "error", err)
			retry.Reset(time.Minute)
			continue
		}
		written = until
	}
}
