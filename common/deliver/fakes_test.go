package deliver_test

import (
	"context"
	"sync"
	"time"

	"goquiz/common"
	"goquiz/impl/memory"
)

// newStore returns an in-memory store holding customers 1..n, due now.
func newStore(n int) *memory.Store {
	s := memory.New()
	addCustomers(s, 1, n)
	return s
}

// addCustomers stores n customers from id from on, due now.
func addCustomers(s *memory.Store, from, n int) {
	for id := from; id < from+n; id++ {
		s.Add(common.Customer{ID: int64(id), FirstName: "f"})
	}
}

// fakeCRM is a Publisher whose answers a test programs per call.
type fakeCRM struct {
	mu       sync.Mutex
	answer   func(c common.Customer, call int) error // nil answer: accepted
	delay    time.Duration
	calls    map[int64][]time.Time
	accepted map[int64]int
	total    int
}

func newFakeCRM(answer func(c common.Customer, call int) error) *fakeCRM {
	return &fakeCRM{answer: answer, calls: map[int64][]time.Time{}, accepted: map[int64]int{}}
}

func (f *fakeCRM) Publish(ctx context.Context, c common.Customer) (common.Budget, error) {
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
			return common.Budget{}, common.TimeoutError(ctx.Err())
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
	return common.Budget{}, err
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
