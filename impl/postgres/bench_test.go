package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"goquiz/common"
)

// BenchmarkClaimSettle measures the store's share of delivering a record:
// claiming in batches and settling each batch as sent.
func BenchmarkClaimSettle(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchClaimSettle(b, batch) })
	}
}

func benchClaimSettle(b *testing.B, batch int) {
	db := openB(b)
	ctx := context.Background()
	total := b.N
	chunk := make([]common.Customer, 0, 10000)
	w := db.Writer()
	for i := 1; i <= total; i++ {
		chunk = append(chunk, common.Customer{ID: int64(i), FirstName: "First", LastName: "Last", Email: "first.last@example.com", Phone: "555 123 4567"})
		if len(chunk) == cap(chunk) || i == total {
			if _, err := w.WriteChunk(ctx, chunk); err != nil {
				b.Fatal(err)
			}
			chunk = chunk[:0]
		}
	}
	q := db.Queue("bench")
	outcomes := make([]common.Outcome, 0, batch)
	b.ResetTimer()
	done := 0
	var claimT, settleT time.Duration
	for done < total {
		t0 := time.Now()
		got, err := q.Claim(ctx, batch, time.Minute)
		claimT += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Deliveries) == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, total)
		}
		outcomes = outcomes[:0]
		for _, d := range got.Deliveries {
			outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Sent: true})
		}
		t1 := time.Now()
		if err := q.Settle(ctx, outcomes, []int64{got.ID}); err != nil {
			b.Fatal(err)
		}
		settleT += time.Since(t1)
		done += len(got.Deliveries)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(claimT.Microseconds())/float64(total), "claim-µs/record")
	b.ReportMetric(float64(settleT.Microseconds())/float64(total), "settle-µs/record")
}
