package main

import (
	"context"
	"fmt"
	"slices"

	"goquiz/internal/harness"
)

// ingest measures target 1 (parser against psql \copy) and target 5 for
// the parser (peak RSS, flat in the input size).
func (b *bench) ingest(ctx context.Context) ([]row, error) {
	unique, repeating := b.file("unique.csv"), b.file("repeating.csv")
	if err := writeUnique(unique, b.n); err != nil {
		return nil, err
	}
	if err := writeRepeating(repeating, b.n); err != nil {
		return nil, err
	}
	runs, err := b.rounds(ctx, 0, func(i int, r []sample) {
		b.logf("ingest run %d: psql \\copy %s, parser %s, parser 10%% repeats %s", i, r[0].elapsed, r[1].elapsed, r[2].elapsed)
	}, b.copying(unique), b.parsing(unique), b.parsing(repeating))
	if err != nil {
		return nil, err
	}
	ref, prod, dup := runs[0], runs[1], runs[2]
	b.ingestTime = median(prod)
	r, p, d := median(ref), median(prod), median(dup)
	rows := []row{
		{
			target:   fmt.Sprintf("1. ingest %d unique rows vs psql \\copy", b.n),
			measured: fmt.Sprintf("copy %s (%s), parser %s (%s)", r.Round(1e7), rate(b.n, r), p.Round(1e7), rate(b.n, p)),
			ratio:    p.Seconds() / r.Seconds(), bound: "<= 1.25",
		},
		{
			target:   fmt.Sprintf("1. ingest %d rows, 10%% repeated ids, vs psql \\copy", b.n),
			measured: fmt.Sprintf("copy %s, parser %s (%s)", r.Round(1e7), d.Round(1e7), rate(b.n, d)),
			ratio:    d.Seconds() / r.Seconds(), bound: "<= 2.00",
		},
	}
	rows[0].pass = rows[0].ratio <= 1.25
	rows[1].pass = rows[1].ratio <= 2

	// Memory: the same for n and 4n rows, and under 64 MiB.
	big := b.file("big.csv")
	if err := writeUnique(big, 4*b.n); err != nil {
		return nil, err
	}
	// The same statistic on both sides: the largest peak of as many runs.
	runs, err = b.rounds(ctx, 0, func(int, []sample) {}, b.parsing(big))
	if err != nil {
		return nil, err
	}
	bigs := runs[0]
	large, small := maxRSSOf(bigs), maxRSSOf(prod)
	rssRatio := float64(large) / float64(small)
	rows = append(rows, row{
		target:   fmt.Sprintf("5. parser peak RSS, %d vs %d rows", 4*b.n, b.n),
		measured: fmt.Sprintf("%s vs %s (limit 64 MiB)", mib(large), mib(small)),
		ratio:    rssRatio, bound: "0.90-1.10, <= 64 MiB",
		pass: rssRatio >= 0.9 && rssRatio <= 1.1 && large <= 64<<20 && small <= 64<<20,
	})
	return rows, nil
}

// copyRef loads file with psql \copy into an empty table of the same
// schema.
func (b *bench) copyRef(ctx context.Context, file string) (sample, error) {
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return sample{}, err
	}
	return b.psqlCopy(ctx, dsn, "customers", file)
}

// psqlCopy loads the CSV file into table of dsn with psql \copy.
func (b *bench) psqlCopy(ctx context.Context, dsn, table, file string) (sample, error) {
	return measure(ctx, nil, b.env.psql, dsn, "-v", "ON_ERROR_STOP=1", "-c",
		fmt.Sprintf(`\copy %s (id, first_name, last_name, email, phone) from '%s' with (format csv, header true)`, table, file))
}

// copying is the step of a round that loads file with copyRef.
func (b *bench) copying(file string) step {
	return func(ctx context.Context) (sample, error) { return b.copyRef(ctx, file) }
}

// parsing is the step of a round that loads file with the parser into an
// empty database.
func (b *bench) parsing(file string) step {
	return func(ctx context.Context) (sample, error) { return b.parseWith(ctx, file) }
}

// step is one measurement of a round.
type step func(context.Context) (sample, error)

// rounds runs steps b.runs times, in order, and returns each step's
// samples, calling logRound after each round with its number (from 1) and
// samples. The turns steps after the first (the reference) take turns at
// running first: in reverse order every other round, so that none always
// follows the reference.
func (b *bench) rounds(ctx context.Context, turns int, logRound func(int, []sample), steps ...step) ([][]sample, error) {
	runs := make([][]sample, len(steps))
	for i := 0; i < b.runs; i++ {
		order := make([]int, len(steps))
		for k := range order {
			order[k] = k
		}
		if i%2 == 1 {
			slices.Reverse(order[1 : 1+turns])
		}
		round := make([]sample, len(steps))
		for _, k := range order {
			s, err := steps[k](ctx)
			if err != nil {
				return nil, err
			}
			round[k] = s
			runs[k] = append(runs[k], s)
		}
		logRound(i+1, round)
	}
	return runs, nil
}

// parser is the parser's binary.
func (b *bench) parser() string { return harness.Bin(b.env.bin, harness.Parser) }
