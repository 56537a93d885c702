package common

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// memQueue is an in-memory Queue with the store's lease semantics, for one
// or more owners.
type memQueue struct {
	mu      sync.Mutex
	recs    map[int64]*memRec
	extends int
	claims  int
	settles int
	failAll bool // every call fails, as when the store is down
	// loseClaims makes that many claims take effect but fail, as when the
	// connection dies before the answer arrives.
	loseClaims int
}

type memRec struct {
	c        Customer
	sent     bool
	failed   bool // given up
	attempts int
	due      time.Time
	owner    string
	sentAt   time.Time
	errs     []string
}

func newMemQueue(n int) *memQueue {
	q := &memQueue{recs: map[int64]*memRec{}}
	q.add(1, n)
	return q
}

func (q *memQueue) add(from, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := from; i < from+n; i++ {
		q.recs[int64(i)] = &memRec{c: Customer{ID: int64(i), FirstName: "f"}, due: time.Now()}
	}
}

// owned returns a Queue view for one integrator.
func (q *memQueue) owned(owner string, lease time.Duration) *ownedQueue {
	return &ownedQueue{q: q, owner: owner, lease: lease}
}

func (q *memQueue) snapshot() map[int64]memRec {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[int64]memRec{}
	for id, r := range q.recs {
		out[id] = *r
	}
	return out
}

type ownedQueue struct {
	q     *memQueue
	owner string
	lease time.Duration
}

var errStoreDown = errors.New("store down")

func (o *ownedQueue) Claim(ctx context.Context, limit int) ([]Delivery, error) {
	q := o.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAll {
		return nil, errStoreDown
	}
	q.claims++
	now := time.Now()
	ids := make([]int64, 0)
	for id, r := range q.recs {
		if !r.sent && !r.failed && !r.due.After(now) && r.owner != o.owner {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []Delivery
	for _, id := range ids {
		if len(out) == limit {
			break
		}
		r := q.recs[id]
		r.owner = o.owner
		r.due = now.Add(o.lease)
		out = append(out, Delivery{Customer: r.c, Attempts: r.attempts})
	}
	if q.loseClaims > 0 {
		q.loseClaims--
		return nil, errStoreDown
	}
	return out, nil
}

func (o *ownedQueue) Settle(ctx context.Context, outcomes []Outcome) error {
	q := o.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAll {
		return errStoreDown
	}
	q.settles++
	for _, oc := range outcomes {
		r := q.recs[oc.ID]
		if r.sent || r.failed {
			continue
		}
		if oc.Sent {
			r.sent, r.owner, r.sentAt = true, "", time.Now()
			continue
		}
		if r.owner != o.owner {
			continue
		}
		r.attempts++
		r.owner = ""
		r.due = time.Now().Add(oc.RetryIn)
		r.errs = append(r.errs, oc.Err)
		r.failed = oc.GiveUp
	}
	return nil
}

func (o *ownedQueue) Extend(ctx context.Context, ids []int64) error {
	q := o.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAll {
		return errStoreDown
	}
	q.extends++
	for _, id := range ids {
		if r := q.recs[id]; !r.sent && !r.failed && r.owner == o.owner {
			r.due = time.Now().Add(o.lease)
		}
	}
	return nil
}

func (o *ownedQueue) Release(ctx context.Context, keep []int64) error {
	q := o.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAll {
		return errStoreDown
	}
	for id, r := range q.recs {
		if !r.sent && !r.failed && r.owner == o.owner && !slices.Contains(keep, id) {
			r.owner, r.due = "", time.Now()
		}
	}
	return nil
}

func (o *ownedQueue) NextDue(ctx context.Context) (time.Duration, bool, error) {
	q := o.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAll {
		return 0, false, errStoreDown
	}
	var best time.Time
	for _, r := range q.recs {
		if !r.sent && !r.failed && r.owner != o.owner && (best.IsZero() || r.due.Before(best)) {
			best = r.due
		}
	}
	if best.IsZero() {
		return 0, false, nil
	}
	return time.Until(best), true, nil
}

// fakeCRM is a Publisher whose answers a test programs per call.
type fakeCRM struct {
	mu       sync.Mutex
	answer   func(c Customer, call int) error // nil answer: accepted
	delay    time.Duration
	calls    map[int64][]time.Time
	accepted map[int64]int
	total    int
}

func newFakeCRM(answer func(c Customer, call int) error) *fakeCRM {
	return &fakeCRM{answer: answer, calls: map[int64][]time.Time{}, accepted: map[int64]int{}}
}

func (f *fakeCRM) Publish(ctx context.Context, c Customer) (Budget, error) {
	f.mu.Lock()
	f.total++
	call := f.total
	f.calls[c.ID] = append(f.calls[c.ID], time.Now())
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return Budget{}, TimeoutError(ctx.Err())
		}
	}
	var err error
	if f.answer != nil {
		err = f.answer(c, call)
	}
	if err == nil {
		f.mu.Lock()
		f.accepted[c.ID]++
		f.mu.Unlock()
	}
	return Budget{}, err
}

func (f *fakeCRM) acceptedCount() (customers, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.accepted {
		customers++
		dups += n - 1
	}
	return
}

func (f *fakeCRM) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}
