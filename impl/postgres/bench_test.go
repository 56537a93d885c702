package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"goquiz/common"
	"goquiz/impl/pgtest"
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
		if len(got.Records) == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, total)
		}
		outcomes = outcomes[:0]
		for _, d := range got.Records {
			outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Sent: true})
		}
		t1 := time.Now()
		if err := q.Settle(ctx, outcomes, []int64{got.ID}); err != nil {
			b.Fatal(err)
		}
		settleT += time.Since(t1)
		done += len(got.Records)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(claimT.Microseconds())/float64(total), "claim-µs/record")
	b.ReportMetric(float64(settleT.Microseconds())/float64(total), "settle-µs/record")
}

// BenchmarkRoundTrip compares a small query over the store's connections,
// whose every round trip arms deadlines (see netconn.go) and whose
// parameters go in one message (binary_parameters), with the same query
// over plain lib/pq connections to the same server, with and without the
// server-side limits the store's transactions carry (and its sessions
// carried before they had to pass transaction poolers).
// Besides the time per query, which a shared machine makes noisy, it
// reports the CPU time per query of the client process and of the
// server's backend.
func BenchmarkRoundTrip(b *testing.B) {
	dsn := pgtest.DSN(b)
	plain, err := sql.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	// The server side of the limits alone: the backend arms
	// statement_timeout for every statement.
	limited, err := sql.Open("postgres", dsn+"&statement_timeout=30000&idle_in_transaction_session_timeout=30000")
	if err != nil {
		b.Fatal(err)
	}
	defer limited.Close()
	store := openDSN(b, dsn)
	for _, tt := range []struct {
		name string
		db   *sql.DB
	}{{"plain", plain}, {"server-limits", limited}, {"store", store.SQL()}} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			c, err := tt.db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var pid, n int
			if err := c.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				b.Fatal(err)
			}
			client0, server0 := cpuSelf(b), cpuOf(b, pid)
			for b.Loop() {
				if err := c.QueryRowContext(ctx, `SELECT $1::int`, 1).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
			ops := float64(b.N)
			b.ReportMetric(float64((cpuSelf(b)-client0).Nanoseconds())/ops, "client-cpu-ns/op")
			b.ReportMetric(float64((cpuOf(b, pid)-server0).Nanoseconds())/ops, "server-cpu-ns/op")
		})
	}
}

// cpuSelf returns the CPU time (user and system) of this process.
func cpuSelf(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf returns the CPU time of process pid, from /proc (clock ticks of
// 10ms: run long enough).
func cpuOf(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no CPU time of the backend: %v", err)
	}
	// Fields after the command name, which ends with ')': state is the
	// 3rd field of the line, utime the 14th, stime the 15th.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
