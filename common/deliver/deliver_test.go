package deliver_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
	"goquiz/impl/memory"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fastConfig is a configuration with test-sized delays.
func fastConfig() deliver.Config {
	return deliver.Config{
		Workers:          4,
		PollInterval:     50 * time.Millisecond,
		RetryDelay:       10 * time.Millisecond,
		RetryMaxDelay:    100 * time.Millisecond,
		RequestTimeout:   time.Second,
		Lease:            time.Second,
		ProbeMaxInterval: 50 * time.Millisecond,
		Logger:           quietLogger(),
	}
}

// runUntil runs d until cond holds (or the deadline), then stops it and
// waits for Run to return.
func runUntil(t *testing.T, d *deliver.Deliverer, within time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	ok := assert.Eventually(t, cond, within, 5*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	require.True(t, ok)
}

func allSent(q *memory.Store) func() bool {
	return func() bool {
		for _, r := range q.Records() {
			if r.State != common.StateSent {
				return false
			}
		}
		return true
	}
}

func TestDeliverEveryRecordOnce(t *testing.T) {
	tests := []struct {
		name   string
		answer func(common.Customer, int) error
	}{
		{"healthy CRM", nil},
		{"a third of requests fail", func(c common.Customer, call int) error {
			if call%3 == 0 {
				return common.StatusError(500, 0)
			}
			return nil
		}},
		{"rate limited without Retry-After", func(c common.Customer, call int) error {
			if call%4 == 0 {
				return common.StatusError(429, 0)
			}
			return nil
		}},
		{"connection errors", func(c common.Customer, call int) error {
			if call%5 == 0 {
				return common.ConnectionError(nil)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newStore(500)
			crm := newFakeCRM(tt.answer)
			d := deliver.New(q.Queue("a"), crm, fastConfig())
			runUntil(t, d, 10*time.Second, allSent(q))
			customers, dups := crm.acceptedCount()
			assert.Equal(t, 500, customers)
			assert.Equal(t, 0, dups)
			st := d.Stats()
			assert.Equal(t, int64(500), st.Delivered)
			assert.Equal(t, int64(crm.requests()-500), st.Failed)
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	q := newStore(1)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if call == 1 {
			return common.StatusError(429, 400*time.Millisecond)
		}
		return nil
	})
	d := deliver.New(q.Queue("a"), crm, fastConfig())
	runUntil(t, d, 5*time.Second, allSent(q))
	calls := crm.calls[1]
	require.Len(t, calls, 2)
	assert.GreaterOrEqual(t, calls[1].Sub(calls[0]), 400*time.Millisecond)
	assert.Equal(t, []string{"status 429"}, q.Records()[1].Errors)
}

func TestPoisonRecordDoesNotHoldOthersBack(t *testing.T) {
	q := newStore(300)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if c.ID == 1 {
			return common.StatusError(500, 0)
		}
		return nil
	})
	d := deliver.New(q.Queue("a"), crm, fastConfig())
	runUntil(t, d, 10*time.Second, func() bool {
		for id, r := range q.Records() {
			if id != 1 && r.State != common.StateSent {
				return false
			}
		}
		return q.Records()[1].Attempts >= 3
	})
	assert.False(t, d.CRMDown(), "one failing record must not make the CRM look down")
	assert.False(t, q.Records()[1].State == common.StateSent)
}

func TestCRMDownIsProbedThenResumed(t *testing.T) {
	q := newStore(200)
	var down atomic.Bool
	down.Store(true)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if down.Load() {
			return common.ConnectionError(nil)
		}
		return nil
	})
	cfg := fastConfig()
	cfg.RetryDelay = 20 * time.Millisecond
	cfg.ProbeMaxInterval = 100 * time.Millisecond
	cfg.DownAfter = 5
	d := deliver.New(q.Queue("a"), crm, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	require.Eventually(t, d.CRMDown, 5*time.Second, 5*time.Millisecond)
	before := crm.requests()
	time.Sleep(time.Second)
	during := crm.requests() - before
	// One probe at a time, at most every 100ms after the first ones.
	assert.LessOrEqual(t, during, 20, "requests while the CRM is down")
	assert.GreaterOrEqual(t, during, 5, "the CRM must still be probed")

	down.Store(false)
	recovered := time.Now()
	require.Eventually(t, allSent(q), 5*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(recovered), 3*time.Second)
	assert.False(t, d.CRMDown())
	cancel()
	require.NoError(t, <-done)
	customers, dups := crm.acceptedCount()
	assert.Equal(t, 200, customers)
	assert.Zero(t, dups)
}

func TestShutdownFinishesInFlightAndReleasesTheRest(t *testing.T) {
	q := newStore(100)
	crm := newFakeCRM(nil)
	crm.delay = 300 * time.Millisecond
	cfg := fastConfig()
	cfg.Workers = 4
	cfg.Lease = time.Hour
	d := deliver.New(q.Queue("a"), crm, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool { return crm.requests() >= 4 }, 5*time.Second, time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	assert.Less(t, time.Since(start), time.Second)

	sent, held := 0, 0
	for _, r := range q.Records() {
		if r.State == common.StateSent {
			sent++
		} else if r.Holder != "" {
			held++
		}
	}
	assert.Equal(t, crm.requests(), sent, "every request in flight finished and was recorded")
	assert.Zero(t, held, "everything not sent is released")
	st := d.Stats()
	assert.Equal(t, int64(sent), st.Delivered)
	assert.Equal(t, st.Claimed-int64(sent), st.Released, "every record claimed and not sent is released")
}

func TestOutcomesAreWrittenInBatches(t *testing.T) {
	const n = 16
	q := newStore(n)
	// The answers come one by one, 5ms apart, all within SettleDelay.
	crm := newFakeCRM(func(_ common.Customer, call int) error {
		time.Sleep(time.Duration(call) * 5 * time.Millisecond)
		return nil
	})
	cfg := fastConfig()
	cfg.Workers = n
	cfg.SettleDelay = time.Second
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 10*time.Second, allSent(q))
	settles := q.Calls().Settles
	// The first outcome waits SettleDelay for the others: one write, two
	// if the scheduler held a worker back for most of a second.
	assert.LessOrEqual(t, settles, 2, "%d outcomes written in %d statements", n, settles)
}

func TestWakeStartsDeliveryAtOnce(t *testing.T) {
	q := newStore(0)
	crm := newFakeCRM(nil)
	wake := make(chan struct{}, 1)
	cfg := fastConfig()
	cfg.PollInterval = time.Hour
	cfg.Wake = wake
	d := deliver.New(q.Queue("a"), crm, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // idle now, for an hour
	addCustomers(q, 1, 10)
	wake <- struct{}{}
	start := time.Now()
	require.Eventually(t, allSent(q), 2*time.Second, time.Millisecond)
	assert.Less(t, time.Since(start), time.Second)
	cancel()
	require.NoError(t, <-done)
}

func TestRetriesFallDueWithoutPolling(t *testing.T) {
	q := newStore(1)
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if call == 1 {
			return common.StatusError(500, 0)
		}
		return nil
	})
	cfg := fastConfig()
	cfg.PollInterval = time.Hour
	cfg.RetryDelay = 200 * time.Millisecond
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 3*time.Second, allSent(q))
}

func TestStoreOutageIsSurvived(t *testing.T) {
	q := newStore(50)
	crm := newFakeCRM(nil)
	cfg := fastConfig()
	d := deliver.New(q.Queue("a"), crm, cfg)
	q.SetDown(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	q.SetDown(false)
	require.Eventually(t, allSent(q), 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	_, dups := crm.acceptedCount()
	assert.Zero(t, dups)
}

func TestClaimsWhoseAnswerWasLostAreReleased(t *testing.T) {
	q := newStore(100)
	q.LoseClaims(2)
	crm := newFakeCRM(nil)
	cfg := fastConfig()
	cfg.Batch = 30
	// A lease far longer than the test: only the sweep can free them.
	cfg.Lease = time.Hour
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 5*time.Second, allSent(q))
	customers, dups := crm.acceptedCount()
	assert.Equal(t, 100, customers)
	assert.Zero(t, dups)
}

func TestOrphanLeasesUnderOurNameAreSwept(t *testing.T) {
	q := newStore(20)
	// Leased under our name by a claim we never heard of, lease long gone.
	q.AddClaim("a", time.Now().Add(-time.Minute), []int64{1, 2, 3, 4, 5})
	crm := newFakeCRM(nil)
	cfg := fastConfig()
	cfg.Lease = 300 * time.Millisecond
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 5*time.Second, allSent(q))
	customers, dups := crm.acceptedCount()
	assert.Equal(t, 20, customers)
	assert.Zero(t, dups)
}

func TestShutdownWithTheStoreDownSaysWhatWasLost(t *testing.T) {
	q := newStore(200)
	crm := newFakeCRM(nil)
	crm.delay = 20 * time.Millisecond
	cfg := fastConfig()
	cfg.Workers = 8
	cfg.SettleDelay = -1 // a write per outcome: many batches to give up on
	cfg.Lease = time.Hour
	d := deliver.New(q.Queue("a"), crm, cfg)
	deliver.SetShutdownGrace(d, 500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool { return crm.requests() >= 16 }, 5*time.Second, time.Millisecond)
	q.SetDown(true)
	time.Sleep(100 * time.Millisecond) // outcomes pile up, unwritten
	cancel()
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return with the store down")
	}
	// Bounded: one grace of half a second for all the store calls of the
	// shutdown, plus a pause between tries of at most 2s.
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "delivery outcomes could not be recorded")
	assert.Contains(t, err.Error(), "release")
	assert.NotContains(t, err.Error(), "\n", "the error at exit is one line")
	assert.Regexp(t, `runs out; \d+ delivery outcomes could not be recorded; their records are sent again once their lease runs out; release`, err.Error(), "its parts apart")
	_, dups := crm.acceptedCount()
	assert.Zero(t, dups)
}

// cutClaimQueue makes the first claim of records after the first cancel
// the run's context once it has taken effect, and answer as if the
// shutdown had cut it short: the claim is in the store, the Deliverer
// never hears of it.
type cutClaimQueue struct {
	common.Queue
	cancel context.CancelFunc
	calls  atomic.Int64
	cut    atomic.Bool
}

func (q *cutClaimQueue) Claim(ctx context.Context, limit int, lease time.Duration) (common.Claim, error) {
	c, err := q.Queue.Claim(ctx, limit, lease)
	if q.calls.Add(1) > 1 && err == nil && len(c.Records) > 0 && q.cut.CompareAndSwap(false, true) {
		q.cancel()
		return common.Claim{}, context.Canceled
	}
	return c, err
}

func TestShutdownEndsAClaimItCutShort(t *testing.T) {
	q := newStore(100)
	ctx, cancel := context.WithCancel(context.Background())
	cq := &cutClaimQueue{Queue: q.Queue("a"), cancel: cancel}
	cfg := fastConfig()
	cfg.Batch = 10
	cfg.Lease = time.Hour // only the shutdown can end the lost claim
	require.NoError(t, deliver.New(cq, newFakeCRM(nil), cfg).Run(ctx))
	require.True(t, cq.cut.Load(), "a claim was cut short")
	assert.Zero(t, q.Claims(), "no claim left behind")
}
