package deliver

import (
	"context"
	"time"

	"goquiz/common"
)

// How integrators share the rate limit their pacing found (see
// common.LimitSharer): every limitShareEvery, while the pacer is active, a
// Deliverer notes its own limit for limitNoteFor ticks (noted again after
// limitNoteAgain ticks) or withdraws it, and reads whether a peer noted
// one. A CRM that never throttles costs no query; the note of an
// integrator that died without withdrawing it runs out after
// limitNoteFor ticks (30 s).
const (
	limitShareEvery = time.Second
	limitNoteFor    = 30 // ticks
	limitNoteAgain  = 10 // ticks
	// limitWithdrawWithin bounds the withdrawal at shutdown: a store
	// that does not answer must not hold the stop up, and the note runs
	// out on its own.
	limitWithdrawWithin = 2 * time.Second
)

// limitFinder is what shareLimits needs of the pacer.
type limitFinder interface {
	Active() bool
	FoundLimit() bool
	SetPeerLimited(bool)
}

// shareLimits shares the limit p found with the peers through ls, and
// tells p of theirs, every tick of interval until ctx is done; it then
// withdraws a limit it noted. A store that cannot be reached is logged at debug
// level and asked again at the next tick: the law goes on with what it
// was last told.
func (d *Deliverer) shareLimits(ctx context.Context, ls common.LimitSharer, p limitFinder, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var noted time.Time // when our limit was last noted; zero: none is
	note := func(ctx context.Context, dur, within time.Duration) bool {
		cctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := ls.NoteLimit(cctx, dur); err != nil {
			d.log.Debug("tell the other integrators of the CRM's rate limit: will retry", "found", dur > 0, "error", err)
			return false
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			if !noted.IsZero() {
				note(context.WithoutCancel(ctx), 0, limitWithdrawWithin)
			}
			return
		case <-t.C:
		}
		if !p.Active() {
			continue
		}
		switch found := p.FoundLimit(); {
		case found && time.Since(noted) >= limitNoteAgain*interval:
			if note(ctx, limitNoteFor*interval, storeCallTimeout) {
				noted = time.Now()
			}
		case !found && !noted.IsZero():
			if note(ctx, 0, storeCallTimeout) {
				noted = time.Time{}
			}
		}
		cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		peer, err := ls.PeerLimited(cctx)
		cancel()
		if err != nil {
			d.log.Debug("ask whether another integrator found the CRM's rate limit: will retry", "error", err)
			continue
		}
		p.SetPeerLimited(peer)
	}
}
