package deliver

import (
	"sync"
	"sync/atomic"
	"time"

	"goquiz/common"
)

// heldClaim is one claim a Deliverer holds: its lease deadline and what
// became of its records.
type heldClaim struct {
	id int64
	// expires is when the lease may run out at the store, in nanoseconds
	// after the holdings' base (a monotonic clock reading); renewals move
	// it, workers read it before every request.
	expires atomic.Int64
	// fenced is set once a worker found the lease run out, so that it is
	// logged once per claim.
	fenced atomic.Bool

	// Guarded by holdings.mu: records whose fate is not decided yet (no
	// outcome written, not given up as not sent); records not sent;
	// whether a record is claimable again once the claim ends (a retry
	// scheduled, or not sent); records whose outcome could not be written
	// before shutdown.
	open        int
	skipped     int
	reclaimable bool
	unrecorded  []int64
}

// holdings are the claims a Deliverer holds. The Deliverer is their only
// owner in memory: the store keeps the claims themselves, and the
// Deliverer knows which of them are its own, when their leases run out
// and when every record of one has an outcome.
type holdings struct {
	base   time.Time
	mu     sync.Mutex
	claims map[int64]*heldClaim
}

func newHoldings() *holdings {
	return &holdings{base: time.Now(), claims: map[int64]*heldClaim{}}
}

// add starts holding c.
func (hs *holdings) add(c common.Claim) *heldClaim {
	h := &heldClaim{id: c.ID, open: len(c.Records)}
	h.expires.Store(int64(c.Expires.Sub(hs.base)))
	hs.mu.Lock()
	hs.claims[c.ID] = h
	hs.mu.Unlock()
	return h
}

// lapsed tells whether h's lease may have run out by now.
func (hs *holdings) lapsed(h *heldClaim) bool {
	return int64(time.Since(hs.base)) >= h.expires.Load()
}

// ids returns the ids of the claims held.
func (hs *holdings) ids() []int64 {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	out := make([]int64, 0, len(hs.claims))
	for id := range hs.claims {
		out = append(out, id)
	}
	return out
}

// renewed records that the leases of the claims ids now run out at
// expires at the earliest.
func (hs *holdings) renewed(ids []int64, expires time.Time) {
	at := int64(expires.Sub(hs.base))
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, id := range ids {
		if h := hs.claims[id]; h != nil && h.expires.Load() < at {
			h.expires.Store(at)
		}
	}
}

// decide decides the fate of the records of batch (an outcome to write,
// or not sent) and returns the claims with no record left undecided,
// which end with the batch's write, and whether ending them makes records
// claimable again. A claim with a record whose outcome could not be
// written does not end: it is released at shutdown.
func (hs *holdings) decide(batch []result) (finished []int64, reclaimable bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, r := range batch {
		h := r.job.claim
		h.open--
		if !r.attempted {
			h.skipped++
		}
		if !r.attempted || !r.outcome.Sent && !r.outcome.GiveUp {
			h.reclaimable = true
		}
		if h.open == 0 && len(h.unrecorded) == 0 {
			finished = append(finished, h.id)
			reclaimable = reclaimable || h.reclaimable
		}
	}
	return finished, reclaimable
}

// writeFailed marks the outcomes of batch as not written: their records
// may have been delivered, so their claims keep them at shutdown.
func (hs *holdings) writeFailed(batch []result) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, r := range batch {
		if r.attempted {
			r.job.claim.unrecorded = append(r.job.claim.unrecorded, r.outcome.ID)
		}
	}
}

// end forgets the claims ids, which the store no longer holds for us,
// and returns how many of their records were given back unsent.
func (hs *holdings) end(ids []int64) (skipped int) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, id := range ids {
		if h := hs.claims[id]; h != nil {
			skipped += h.skipped
			delete(hs.claims, id)
		}
	}
	return skipped
}

// unrecorded returns the records of every claim held whose outcome could
// not be written.
func (hs *holdings) unrecorded() []int64 {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []int64
	for _, h := range hs.claims {
		out = append(out, h.unrecorded...)
	}
	return out
}
