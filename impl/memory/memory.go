// Package memory is an in-memory goquiz store: a [common.Queue] with the
// semantics of the PostgreSQL one (the contract suite in impl/queuetest
// runs against both), for the business logic's tests. It can be made to
// fail as a store does: every call refused, or a claim that takes effect
// while its caller is told it failed.
package memory

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"goquiz/common"
)

// ErrDown is what every call returns while the store is down.
var ErrDown = errors.New("memory store: down")

// Record is a stored customer as the store sees it.
type Record struct {
	common.Customer
	State common.State
	// Attempts counts the failed attempts recorded.
	Attempts int
	// Due is when the record may be claimed (again).
	Due time.Time
	// Errors are the errors of its failed attempts, oldest first.
	Errors []string
	// SentAt is when it was recorded as sent.
	SentAt time.Time
	// Holder is the owner of the claim listing it, or "".
	Holder string
}

// Calls counts the calls the store answered.
type Calls struct {
	Claims, Settles, Extends, Releases, Sweeps int
}

// Store holds customers and the claims on them. It is safe for
// concurrent use.
type Store struct {
	mu        sync.Mutex
	recs      map[int64]*Record
	claims    map[int64]*claim
	nextClaim int64
	calls     Calls
	down      bool
	lose      int
	quota     time.Time // the CRM's quota pause noted (see Queue.NoteQuota)
	// limits are the rate limits noted, by owner (see Queue.NoteLimit).
	limits map[string]limit
}

// limit is a rate limit an owner noted: its end, and the rate the CRM
// took of the owner's requests.
type limit struct {
	until time.Time
	rate  float64
}

type claim struct {
	owner   string
	expires time.Time
	ids     []int64
}

// New returns an empty store.
func New() *Store {
	return &Store{recs: map[int64]*Record{}, claims: map[int64]*claim{}, limits: map[string]limit{}}
}

// Add stores customers, pending and due at once, as their version 1; an id
// already stored is left as it is.
func (s *Store) Add(cs ...common.Customer) { s.AddDue(time.Now(), cs...) }

// AddDue stores customers, pending and due at due.
func (s *Store) AddDue(due time.Time, cs ...common.Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if _, ok := s.recs[c.ID]; !ok {
			c.Version = 1
			s.recs[c.ID] = &Record{Customer: c, State: common.StatePending, Due: due}
		}
	}
}

// AddClaim adds a claim of owner on ids whose lease runs out at expires,
// as another integrator, or a claim whose answer was lost, leaves it, and
// returns its id.
func (s *Store) AddClaim(owner string, expires time.Time, ids []int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextClaim++
	s.claims[s.nextClaim] = &claim{owner: owner, expires: expires, ids: slices.Clone(ids)}
	return s.nextClaim
}

// Records returns a copy of every record, by id.
func (s *Store) Records() map[int64]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	holders := s.holders()
	out := make(map[int64]Record, len(s.recs))
	for id, r := range s.recs {
		out[id] = snapshot(r, holders)
	}
	return out
}

// Record returns a copy of the record id, and false when there is none.
func (s *Store) Record(id int64) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return Record{}, false
	}
	return snapshot(r, s.holders()), true
}

// snapshot copies r with its holder.
func snapshot(r *Record, holders map[int64]string) Record {
	out := *r
	out.Errors = slices.Clone(r.Errors)
	out.Holder = holders[r.ID]
	return out
}

// Claims returns the number of claims in the store.
func (s *Store) Claims() (n int) {
	s.locked(func() { n = len(s.claims) })
	return n
}

// Calls returns the calls answered so far.
func (s *Store) Calls() (c Calls) {
	s.locked(func() { c = s.calls })
	return c
}

// SetDown makes every call fail with ErrDown (true), or work again.
func (s *Store) SetDown(down bool) { s.locked(func() { s.down = down }) }

// LoseClaims makes the next n claims that find records take effect and
// fail all the same, as when the connection dies before the answer.
func (s *Store) LoseClaims(n int) { s.locked(func() { s.lose = n }) }

// locked runs fn with s.mu held.
func (s *Store) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// Quota returns the latest end of the CRM's quota pause noted.
func (s *Store) Quota() (until time.Time) {
	s.locked(func() { until = s.quota })
	return until
}

// Limit returns when the rate limit that owner noted ends (it may have
// ended already); zero when owner noted none, or withdrew it.
func (s *Store) Limit(owner string) (until time.Time) {
	s.locked(func() { until = s.limits[owner].until })
	return until
}

// Queue returns the queue of the integrator named owner.
func (s *Store) Queue(owner string) *Queue {
	return &Queue{s: s, owner: owner}
}

// holders returns the owner of the claim listing each record that one
// lists; s.mu is held.
func (s *Store) holders() map[int64]string {
	out := map[int64]string{}
	for _, k := range s.claims {
		for _, id := range k.ids {
			out[id] = k.owner
		}
	}
	return out
}

// enter takes s.mu for a call of a Queue and counts the call in *n (nil:
// not counted), unless ctx is done or the store is down (ErrDown): then
// s.mu is released and the error returned. The caller defers unlock.
func (s *Store) enter(ctx context.Context, n *int) (unlock func(), err error) {
	s.mu.Lock()
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if s.down {
		s.mu.Unlock()
		return nil, ErrDown
	}
	if n != nil {
		*n++
	}
	return s.mu.Unlock, nil
}
