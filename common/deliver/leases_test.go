package deliver_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
	"goquiz/impl/memory"
	"goquiz/internal/testbin"
)

func TestLeasesAreRenewedWhileRequestsOutlastThem(t *testing.T) {
	q := newStore(2)
	crm := newFakeCRM(nil)
	// Requests three times as long as the lease, which is renewed every
	// Lease/3: long enough that a loaded machine's stalls do not let it
	// lapse.
	crm.delay = 1200 * time.Millisecond
	cfg := fastConfig()
	cfg.Lease = 400 * time.Millisecond
	cfg.RequestTimeout = 5 * time.Second
	a := q.Queue("a")
	d := deliver.New(a, crm, cfg)
	// A second integrator tries to take over all the time.
	other := q.Queue("b")
	stolen := 0
	runUntil(t, d, 5*time.Second, func() bool {
		if crm.requests() < 2 {
			return false // a has not claimed both yet
		}
		got, _ := other.Claim(context.Background(), 10, time.Minute)
		stolen += len(got.Records)
		return allSent(q)()
	})
	assert.Zero(t, stolen, "a live integrator's records must not be taken over")
	assert.GreaterOrEqual(t, q.Calls().Extends, 3)
}

func TestLapsedClaimsAreNotSentFrom(t *testing.T) {
	const n = 200
	q := newStore(n)
	crm := newFakeCRM(nil)
	crm.delay = 200 * time.Millisecond
	var logs testbin.SyncBuffer
	cfg := fastConfig()
	cfg.Workers = 20 // claims of at least 40
	cfg.Lease = 300 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	d := deliver.New(q.Queue("a"), crm, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// Two claims wait for the workers (the second follows the first's
	// requests by a moment, longer under -race on a busy machine).
	require.Eventually(t, func() bool { return crm.requests() >= 1 && d.Stats().Claimed >= 80 }, 5*time.Second, time.Millisecond,
		"two claims wait for the workers")
	// The store stops answering: the claims' leases cannot be renewed.
	q.SetDown(true)
	claimed := d.Stats().Claimed
	require.GreaterOrEqual(t, claimed, int64(80), "two claims wait for the workers")
	time.Sleep(1500 * time.Millisecond)
	// Unfenced, the workers would send every record claimed within
	// 1.5s, 20 every 200ms; the lease lets the rounds of its first 300ms
	// start, 40 requests.
	assert.LessOrEqual(t, crm.requests(), 60, "requests started after the lease could not be renewed")
	assert.Contains(t, logs.String(), "lease not renewed in time")

	q.SetDown(false)
	require.Eventually(t, allSent(q), 10*time.Second, 5*time.Millisecond, "the records given back are sent once the store answers")
	cancel()
	require.NoError(t, <-done)
	customers, dups := crm.acceptedCount()
	assert.Equal(t, n, customers)
	assert.Zero(t, dups)
	assert.Positive(t, d.Stats().Released, "the fenced records were given back")
}

// TestRenewedLeasesAreNotFenced checks that renewals move the fence: with
// the store answering, a record that waits in line for longer than its
// claim's first lease is still sent from it, not given back as lapsed.
func TestRenewedLeasesAreNotFenced(t *testing.T) {
	const n = 16
	q := newStore(n)
	crm := newFakeCRM(nil)
	crm.delay = 250 * time.Millisecond
	var logs testbin.SyncBuffer
	cfg := fastConfig()
	// Claims of 4 records, two of them in line for 2 workers: the last
	// record of a claim starts 750ms to 1s after it was claimed, one and
	// a half to two leases.
	cfg.Workers = 2
	cfg.Batch = 4
	cfg.Lease = 500 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 10*time.Second, allSent(q))
	assert.NotContains(t, logs.String(), "lease not renewed in time")
	assert.Zero(t, d.Stats().Released, "no record was given back unsent")
	assert.Equal(t, n, crm.requests(), "every record sent once")
}

// settleFails is a Queue whose Settle fails while fail is set; its other
// calls work.
type settleFails struct {
	common.Queue
	fail atomic.Bool
}

func (q *settleFails) Settle(ctx context.Context, outcomes []common.Outcome, finished []int64) error {
	if q.fail.Load() {
		return memory.ErrDown
	}
	return q.Queue.Settle(ctx, outcomes, finished)
}

// TestUnrecordedOutcomesStayReservedAtShutdown checks that the records
// whose outcome could not be written when the Deliverer stopped stay in
// its claims (they may have been delivered: only their lease frees them),
// while the others it held are given back.
func TestUnrecordedOutcomesStayReservedAtShutdown(t *testing.T) {
	q := newStore(50)
	crm := newFakeCRM(nil)
	crm.delay = 200 * time.Millisecond
	cfg := fastConfig()
	cfg.Lease = time.Hour
	sq := &settleFails{Queue: q.Queue("a")}
	d := deliver.New(sq, crm, cfg)
	deliver.SetShutdownGrace(d, 300*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool { return crm.requests() >= cfg.Workers }, 5*time.Second, time.Millisecond)
	sq.fail.Store(true) // the outcomes of the requests in flight are not written
	cancel()
	err := <-done
	require.Error(t, err)
	assert.Contains(t, err.Error(), "delivery outcomes could not be recorded")
	assert.NotContains(t, err.Error(), "release")

	customers, _ := crm.acceptedCount()
	require.Positive(t, customers)
	kept := 0
	for id, r := range q.Records() {
		switch {
		case r.State == common.StateSent:
		case len(crm.calls[id]) > 0:
			kept++
			assert.Equal(t, "a", r.Holder, "record %d was sent and its outcome not written: it stays reserved", id)
		default:
			assert.Empty(t, r.Holder, "record %d was not sent: it is given back", id)
		}
	}
	assert.Positive(t, kept)
}
