package memory

import (
	"context"
	"time"

	"goquiz/common"
)

// Change stores the values of c as the next version of the stored customer
// c.ID, as a load in SYNC_MODE=upsert does: when they differ from the
// stored ones, the record becomes pending again, due at once, with no
// attempts, and Change returns true; the same values change nothing. An id
// not stored is stored as version 1 (and Change returns true). A claim
// listing the record keeps it: the version in flight is finished first.
func (s *Store) Change(cs ...common.Customer) (changed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, c := range cs {
		r, ok := s.recs[c.ID]
		if !ok {
			c.Version = 1
			s.recs[c.ID] = &Record{Customer: c, State: common.StatePending, Due: now}
			changed++
			continue
		}
		if r.SameValues(c) {
			continue
		}
		c.Version = r.Version + 1
		r.Customer = c
		r.State, r.Attempts, r.Due, r.SentAt = common.StatePending, 0, now, time.Time{}
		changed++
	}
	return changed
}

var _ common.VersionChecker = (*Queue)(nil)

// Replaced returns, of the records listed (ids[i] claimed in
// versions[i]), the ids of those whose stored version is newer.
func (q *Queue) Replaced(ctx context.Context, ids []int64, versions []int) ([]int64, error) {
	unlock, err := q.s.enter(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []int64
	for i, id := range ids {
		if r, ok := q.s.recs[id]; ok && r.Version > versions[i] {
			out = append(out, id)
		}
	}
	return out, nil
}
