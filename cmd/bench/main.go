// Command bench measures goquiz against references taken in the same run on
// the same machine — psql \copy for loading, a plain Go HTTP client for
// delivery — and prints a table of rates, ratios and peak RSS with
// pass/fail against the performance targets. It starts its own durable
// PostgreSQL cluster and mock CRM, and removes them at the end.
//
//	go run ./cmd/bench            # 1,000,000 records, 3 runs each (about 8 minutes)
//	go run ./cmd/bench -short     # 100,000 records, 1 run: a quick look
//	go run ./cmd/bench -only delivery  # one part: ingest, delivery, ratelimit, encoding or sync
//	go run ./cmd/bench -scale     # 10,000,000 records next to 1,000,000 (about 10 minutes)
//	go run ./cmd/bench -pacing    # the pacing matrix of docs/pacing-matrix.md (about 25 minutes)
//	go run ./cmd/bench -pacing -cells 6-8,window  # some of its cells
//	go run ./cmd/bench -only delivery -template examples/goquiz/body.json  # the delivery rows with a BODY_TEMPLATE too
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

type bench struct {
	env            *env
	n              int64
	runs           int
	latencySeconds int64
	only           string // one part to run, or "" for all
	limitN         int64  // customers of the rate-limit targets
	scale          bool   // the ten-times-larger run instead of the usual one
	pacing         bool   // the pacing matrix instead of the usual run
	cells          string // the cells of the pacing matrix to run; "" for all
	seed           uint64 // the pacing matrix's faults: seed×1000 + each cell's number
	ingestTime     time.Duration
	deliverTime    time.Duration
	template       string // BODY_TEMPLATE measured next to the defaults, or ""
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func main() {
	short := flag.Bool("short", false, "100,000 records and one run of each: a quick look, not a verdict")
	n := flag.Int64("n", 1_000_000, "records per measurement")
	runs := flag.Int("runs", 3, "runs of each reference and product measurement, alternated")
	only := flag.String("only", "", "run one part only: ingest, delivery, ratelimit, encoding or sync (the end-to-end target needs ingest and delivery)")
	scale := flag.Bool("scale", false, "run the large-table targets instead: 10 × n records next to n (about 10 minutes on a quiet 2-core machine)")
	pacing := flag.Bool("pacing", false, "run the pacing matrix instead (docs/pacing-matrix.md, about 25 minutes on 2 cores)")
	cells := flag.String("cells", "", "with -pacing, the cells to run: numbers, ranges (3-7) or text of their names, comma-separated")
	seed := flag.Uint64("seed", 0, "with -pacing, another sample of the random faults: every run of a cell meets those of seed×1000 + the cell's number")
	template := flag.String("template", "", "a BODY_TEMPLATE file: the delivery rows are measured with it too, each run right after the run without, and compared")
	flag.Parse()
	switch *only {
	case "", "ingest", "delivery", "ratelimit", "encoding", "sync":
	default:
		fmt.Fprintf(os.Stderr, "bench: -only %q: want ingest, delivery, ratelimit, encoding or sync\n", *only)
		os.Exit(2)
	}
	if *template != "" {
		abs, err := filepath.Abs(*template)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -template: %v\n", err)
			os.Exit(2)
		}
		*template = abs
	}
	b := &bench{n: *n, runs: *runs, latencySeconds: 8, only: *only, limitN: 20_000, scale: *scale, pacing: *pacing, cells: *cells, seed: *seed, template: *template}
	if *short {
		b.n, b.runs, b.latencySeconds, b.limitN = 100_000, 1, 3, 5_000
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := b.run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func (b *bench) run(ctx context.Context) (bool, error) {
	start := time.Now()
	if b.pacing {
		if _, err := selectCells(matrix(), b.cells); err != nil {
			return false, err // before minutes of setting up
		}
	}
	host, _ := os.Hostname()
	if b.pacing {
		b.logf("pacing matrix on %s (%d CPUs, %s)", host, runtime.NumCPU(), runtime.Version())
	} else {
		b.logf("%d records, %d runs each, on %s (%d CPUs, %s)", b.n, b.runs, host, runtime.NumCPU(), runtime.Version())
	}
	var err error
	b.env, err = newEnv(ctx)
	if err != nil {
		return false, err
	}
	defer b.env.close()
	if b.pacing {
		return b.pacingMatrix(ctx, b.cells)
	}
	var rows []row
	type part struct {
		name string
		run  func(context.Context) ([]row, error)
	}
	parts := []part{{"ingest", b.ingest}, {"delivery", b.delivery}, {"e2e", b.endToEnd}, {"ratelimit", b.rateLimit}, {"encoding", b.encoding}, {"sync", b.syncExports}}
	if b.scale {
		parts = []part{{"scale", b.atScale}}
	}
	for _, p := range parts {
		if b.only != "" && b.only != p.name {
			continue
		}
		r, err := p.run(ctx)
		if err != nil {
			return false, fmt.Errorf("%s: %w", p.name, err)
		}
		rows = append(rows, r...)
	}
	what := fmt.Sprintf("%d records, %d runs each (medians)", b.n, b.runs)
	if b.scale {
		what = fmt.Sprintf("%d records next to %d, %d ingest runs each (medians)", 10*b.n, b.n, b.runs)
	}
	fmt.Printf("goquiz benchmark: %s, %d CPUs, %s, took %s\n",
		what, runtime.NumCPU(), runtime.Version(), time.Since(start).Round(time.Second))
	return printTable(os.Stdout, rows), nil
}
