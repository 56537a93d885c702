package deliver_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"goquiz/common"
	"goquiz/common/deliver"
)

// nopPublisher accepts every record at once.
type nopPublisher struct{ n atomic.Int64 }

func (p *nopPublisher) Publish(context.Context, common.Customer) (common.Budget, error) {
	p.n.Add(1)
	return common.Budget{}, nil
}

// seqQueue hands out n records in order and forgets outcomes: a queue that
// costs next to nothing, so that the Deliverer's own cost shows.
type seqQueue struct {
	n, next, claims int64
	settled         atomic.Int64
}

func (q *seqQueue) Claim(_ context.Context, limit int, lease time.Duration) (common.Claim, error) {
	q.claims++
	c := common.Claim{ID: q.claims, Expires: time.Now().Add(lease)}
	for ; q.next < q.n && len(c.Records) < limit; q.next++ {
		c.Records = append(c.Records, common.ClaimedRecord{Customer: common.Customer{ID: q.next + 1, FirstName: "F", LastName: "L", Email: "e@example.com", Phone: "1"}})
	}
	return c, nil
}

func (q *seqQueue) Settle(_ context.Context, o []common.Outcome, _ []int64) error {
	q.settled.Add(int64(len(o)))
	return nil
}

func (q *seqQueue) Extend(_ context.Context, claims []int64, _ time.Duration) ([]int64, error) {
	return claims, nil
}
func (q *seqQueue) Release(context.Context, []int64, []int64) error { return nil }
func (q *seqQueue) Sweep(context.Context, []int64) error            { return nil }
func (q *seqQueue) NextDue(context.Context) (time.Duration, bool, error) {
	return 0, false, nil
}

// BenchmarkDeliverer measures the Deliverer's own cost per record: claim,
// hand-off to a worker, outcome and settle, against an in-memory queue and
// a publisher that accepts at once.
func BenchmarkDeliverer(b *testing.B) {
	q := &seqQueue{n: int64(b.N)}
	pub := &nopPublisher{}
	cfg := fastConfig()
	cfg.Workers = 8
	d := deliver.New(q, pub, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() { done <- d.Run(ctx) }()
	for d.Stats().Delivered < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
