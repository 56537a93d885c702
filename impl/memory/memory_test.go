package memory_test

import (
	"testing"
	"time"

	"goquiz/common"
	"goquiz/impl/memory"
	"goquiz/impl/queuetest"
)

// store adapts a memory.Store to the contract suite.
type store struct{ *memory.Store }

func (s store) Queue(owner string) common.Queue { return s.Store.Queue(owner) }

func (s store) Add(_ *testing.T, due time.Time, cs ...common.Customer) { s.AddDue(due, cs...) }

func (s store) Change(_ *testing.T, cs ...common.Customer) { s.Store.Change(cs...) }

func (s store) AddClaim(_ *testing.T, owner string, expires time.Time, ids []int64) {
	s.Store.AddClaim(owner, expires, ids)
}

func (s store) Record(t *testing.T, id int64) queuetest.Record {
	r, ok := s.Store.Record(id)
	if !ok {
		t.Fatalf("no record %d", id)
	}
	var last string
	if len(r.Errors) > 0 {
		last = r.Errors[len(r.Errors)-1]
	}
	return queuetest.Record{State: r.State, Attempts: r.Attempts, Version: r.Version, Holder: r.Holder, LastError: last, DueIn: time.Until(r.Due)}
}

func (s store) Claims(*testing.T) int { return s.Store.Claims() }

func TestQueueContract(t *testing.T) {
	queuetest.Run(t, func(*testing.T) queuetest.Store { return store{memory.New()} })
}
