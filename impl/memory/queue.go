package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"goquiz/common"
)

// Queue is one integrator's side of a Store; it implements common.Queue.
type Queue struct {
	s     *Store
	owner string
}

var (
	_ common.Queue        = (*Queue)(nil)
	_ common.QuotaNoter   = (*Queue)(nil)
	_ common.ProbeClaimer = (*Queue)(nil)
	_ common.LimitSharer  = (*Queue)(nil)
)

// NoteQuota records a quota pause until until, keeping the latest.
func (q *Queue) NoteQuota(ctx context.Context, until time.Time) error {
	unlock, err := q.s.enter(ctx, nil)
	if err != nil {
		return err
	}
	defer unlock()
	if until.After(q.s.quota) {
		q.s.quota = until
	}
	return nil
}

// QuotaPause returns the quota pause noted, if it has not ended.
func (q *Queue) QuotaPause(ctx context.Context) (time.Time, error) {
	unlock, err := q.s.enter(ctx, nil)
	if err != nil {
		return time.Time{}, err
	}
	defer unlock()
	if q.s.quota.After(time.Now()) {
		return q.s.quota, nil
	}
	return time.Time{}, nil
}

// NoteLimit records that this owner found the CRM's rate limit, in force
// for d from now, and the rate the CRM takes of its requests (the latest
// note of the owner counts); d <= 0 withdraws it.
func (q *Queue) NoteLimit(ctx context.Context, d time.Duration, rate float64) error {
	unlock, err := q.s.enter(ctx, nil)
	if err != nil {
		return err
	}
	defer unlock()
	if d <= 0 {
		delete(q.s.limits, q.owner)
		return nil
	}
	q.s.limits[q.owner] = limit{until: time.Now().Add(d), rate: rate}
	return nil
}

// PeerLimits returns the rates noted with the other owners' rate limits
// in force, in no particular order.
func (q *Queue) PeerLimits(ctx context.Context) ([]float64, error) {
	unlock, err := q.s.enter(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := time.Now()
	var rates []float64
	for owner, l := range q.s.limits {
		if owner != q.owner && l.until.After(now) {
			rates = append(rates, l.rate)
		}
	}
	return rates, nil
}

// Claim reserves up to limit due pending records that no claim lists,
// oldest due first, after ending the lapsed claims of other owners.
func (q *Queue) Claim(ctx context.Context, limit int, lease time.Duration) (common.Claim, error) {
	start := time.Now()
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Claims)
	if err != nil {
		return common.Claim{}, err
	}
	defer unlock()
	now := time.Now()
	for id, k := range s.claims {
		if k.owner != q.owner && !k.expires.After(now) {
			delete(s.claims, id)
		}
	}
	listed := s.holders()
	due := slices.DeleteFunc(s.due(now), func(r *Record) bool {
		_, held := listed[r.ID]
		return held
	})
	if len(due) > limit {
		due = due[:limit]
	}
	if len(due) == 0 {
		return common.Claim{}, nil
	}
	c := common.Claim{Expires: start.Add(lease)}
	k := &claim{owner: q.owner, expires: now.Add(lease)}
	for _, r := range due {
		c.Records = append(c.Records, common.ClaimedRecord{Customer: r.Customer, Attempts: r.Attempts})
		k.ids = append(k.ids, r.ID)
	}
	s.nextClaim++
	c.ID = s.nextClaim
	s.claims[c.ID] = k
	if s.lose > 0 {
		s.lose--
		return common.Claim{}, ErrDown
	}
	return c, nil
}

// ClaimProbe reserves, as a claim of its own, the latest due pending record
// that no claim lists among the common.ProbeWindow latest due, one that
// failed before when tried is true, one never tried otherwise.
func (q *Queue) ClaimProbe(ctx context.Context, tried bool, lease time.Duration) (common.Claim, error) {
	start := time.Now()
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Claims)
	if err != nil {
		return common.Claim{}, err
	}
	defer unlock()
	now := time.Now()
	due := s.due(now)
	slices.Reverse(due) // the latest due first
	listed := s.holders()
	for _, r := range due[:min(len(due), common.ProbeWindow)] {
		if _, held := listed[r.ID]; held || (r.Attempts > 0) != tried {
			continue
		}
		s.nextClaim++
		s.claims[s.nextClaim] = &claim{owner: q.owner, expires: now.Add(lease), ids: []int64{r.ID}}
		return common.Claim{ID: s.nextClaim, Expires: start.Add(lease),
			Records: []common.ClaimedRecord{{Customer: r.Customer, Attempts: r.Attempts}}}, nil
	}
	return common.Claim{}, nil
}

// Settle records outcomes and ends the finished claims of this owner. An
// outcome counts for the version it was sent with only.
func (q *Queue) Settle(ctx context.Context, outcomes []common.Outcome, finished []int64) error {
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Settles)
	if err != nil {
		return err
	}
	defer unlock()
	now := time.Now()
	for _, o := range outcomes {
		r := s.recs[o.ID]
		if r == nil || r.State != common.StatePending {
			continue
		}
		v := max(1, o.Version)
		if o.Sent {
			// The CRM has this version, whoever holds the record now;
			// the record is sent only if no newer one was stored since.
			if v == r.Version {
				r.State, r.SentAt = common.StateSent, now
			}
			continue
		}
		if v != r.Version {
			continue // a newer version is due now, with attempts of its own
		}
		if k := s.claims[o.Claim]; k == nil || k.owner != q.owner || !slices.Contains(k.ids, o.ID) {
			continue // no longer ours: whoever holds it now decides
		}
		r.Attempts++
		r.Errors = append(r.Errors, o.Err)
		r.Due = now.Add(o.RetryIn)
		switch {
		case o.Reject:
			r.State = common.StateRejected
		case o.GiveUp:
			r.State = common.StateFailed
		}
	}
	for _, id := range finished {
		if k := s.claims[id]; k != nil && k.owner == q.owner {
			delete(s.claims, id)
		}
	}
	return nil
}

// Extend renews the leases of this owner's listed claims.
func (q *Queue) Extend(ctx context.Context, claims []int64, lease time.Duration) ([]int64, error) {
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Extends)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var renewed []int64
	for _, id := range claims {
		if k := s.claims[id]; k != nil && k.owner == q.owner {
			k.expires = time.Now().Add(lease)
			renewed = append(renewed, id)
		}
	}
	return renewed, nil
}

// Release shrinks this owner's listed claims to their records in keep,
// ending those left with none.
func (q *Queue) Release(ctx context.Context, claims []int64, keep []int64) error {
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Releases)
	if err != nil {
		return err
	}
	defer unlock()
	for _, id := range claims {
		k := s.claims[id]
		if k == nil || k.owner != q.owner {
			continue
		}
		k.ids = slices.DeleteFunc(k.ids, func(id int64) bool { return !slices.Contains(keep, id) })
		if len(k.ids) == 0 {
			delete(s.claims, id)
		}
	}
	return nil
}

// Sweep ends this owner's claims that are not in held.
func (q *Queue) Sweep(ctx context.Context, held []int64) error {
	s := q.s
	unlock, err := s.enter(ctx, &s.calls.Sweeps)
	if err != nil {
		return err
	}
	defer unlock()
	for id, k := range s.claims {
		if k.owner == q.owner && !slices.Contains(held, id) {
			delete(s.claims, id)
		}
	}
	return nil
}

// NextDue returns how long until the earliest pending record no claim
// lists falls due, or the earliest lease of another owner's claim ends.
func (q *Queue) NextDue(ctx context.Context) (time.Duration, bool, error) {
	s := q.s
	unlock, err := s.enter(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer unlock()
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	listed := s.holders()
	for _, r := range s.recs {
		if _, held := listed[r.ID]; !held && r.State == common.StatePending {
			earlier(r.Due)
		}
	}
	for _, k := range s.claims {
		if k.owner != q.owner {
			earlier(k.expires)
		}
	}
	if next.IsZero() {
		return 0, false, nil
	}
	return time.Until(next), true, nil
}

// due returns the pending records due at now, the oldest due first (by
// id among those due at once). s is locked.
func (s *Store) due(now time.Time) []*Record {
	var due []*Record
	for _, r := range s.recs {
		if r.State == common.StatePending && !r.Due.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *Record) int {
		return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.ID, b.ID))
	})
	return due
}
