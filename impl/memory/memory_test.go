package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// The rate limits noted fail as every call does while the store is down,
// or once the caller's context is done, and are counted in no Calls;
// Limit tells what an owner noted.
func TestLimitsDownAndNoted(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	a, b := s.Queue("a"), s.Queue("b")
	require.NoError(t, a.NoteLimit(ctx, time.Minute, 7))
	assert.WithinDuration(t, time.Now().Add(time.Minute), s.Limit("a"), time.Second)
	assert.Zero(t, s.Limit("b"))

	s.SetDown(true)
	assert.ErrorIs(t, a.NoteLimit(ctx, 0, 0), memory.ErrDown)
	_, err := b.PeerLimits(ctx)
	assert.ErrorIs(t, err, memory.ErrDown)
	s.SetDown(false)
	done, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, a.NoteLimit(done, 0, 0), context.Canceled)
	_, err = b.PeerLimits(done)
	assert.ErrorIs(t, err, context.Canceled)

	rates, err := b.PeerLimits(ctx)
	require.NoError(t, err)
	assert.Equal(t, []float64{7}, rates, "a's limit, untouched by the failed withdrawal")
	require.NoError(t, a.NoteLimit(ctx, 0, 0))
	assert.Zero(t, s.Limit("a"), "withdrawn")
	assert.Equal(t, memory.Calls{}, s.Calls())
}
