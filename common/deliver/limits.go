package deliver

import (
	"context"
	"time"

	"goquiz/common"
)

// How integrators share the rate limit their pacing found (see
// common.LimitSharer): every limitShareEvery, while the pacer is active, a
// Deliverer notes its own limit for limitNoteFor ticks with the rate the
// CRM takes of its requests, or withdraws it, and reads the peers' limits
// and rates. A CRM that never throttles costs no query; the note of an
// integrator that died without withdrawing it runs out after
// limitNoteFor ticks (30 s).
const (
	limitShareEvery = time.Second
	limitNoteFor    = 30 // ticks
	// limitWithdrawWithin bounds the withdrawal at shutdown: a store
	// that does not answer must not hold the stop up, and the note runs
	// out on its own.
	limitWithdrawWithin = 2 * time.Second
)

// limitFinder is what shareLimits needs of the pacer (pace.Pacer).
type limitFinder interface {
	Active() bool
	FoundLimit() (taken float64, found bool)
	SetPeerLimits(rates []float64)
}

// shareLimits shares the limit p found, and the rate the CRM takes, with
// the peers through ls, and tells p of theirs, every tick of interval
// until ctx is done; it then withdraws a limit it noted. A store that
// cannot be reached is logged at debug level and asked again at the next
// tick: the law goes on with what it was last told.
func (d *Deliverer) shareLimits(ctx context.Context, ls common.LimitSharer, p limitFinder, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	noted := false // our limit is noted
	note := func(ctx context.Context, dur, within time.Duration, rate float64) bool {
		cctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := ls.NoteLimit(cctx, dur, rate); err != nil {
			d.log.Debug("tell the other integrators of the CRM's rate limit: will retry", "found", dur > 0, "error", err)
			return false
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			if noted {
				note(context.WithoutCancel(ctx), 0, limitWithdrawWithin, 0)
			}
			return
		case <-t.C:
		}
		if !p.Active() {
			continue
		}
		// Noted every tick while found: the peers' fair share is
		// reckoned from the rates as they are now.
		switch taken, found := p.FoundLimit(); {
		case found:
			noted = note(ctx, limitNoteFor*interval, storeCallTimeout, taken) || noted
		case noted:
			noted = !note(ctx, 0, storeCallTimeout, 0)
		}
		cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		rates, err := ls.PeerLimits(cctx)
		cancel()
		if err != nil {
			d.log.Debug("ask whether another integrator found the CRM's rate limit: will retry", "error", err)
			continue
		}
		p.SetPeerLimits(rates)
	}
}
