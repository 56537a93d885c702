package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// ingest measures target 1 (parser against psql \copy) and target 5 for
// the parser (peak RSS, flat in the input size).
func (b *bench) ingest(ctx context.Context) ([]row, error) {
	unique := filepath.Join(b.env.dir, "unique.csv")
	repeating := filepath.Join(b.env.dir, "repeating.csv")
	if err := writeUnique(unique, b.n); err != nil {
		return nil, err
	}
	if err := writeRepeating(repeating, b.n); err != nil {
		return nil, err
	}
	var ref, prod, dup []sample
	for i := 0; i < b.runs; i++ {
		s, err := b.copyRef(ctx, unique)
		if err != nil {
			return nil, err
		}
		ref = append(ref, s)
		if s, err = b.parse(ctx, unique); err != nil {
			return nil, err
		}
		prod = append(prod, s)
		if s, err = b.parse(ctx, repeating); err != nil {
			return nil, err
		}
		dup = append(dup, s)
		b.logf("ingest run %d: psql \\copy %s, parser %s, parser 10%% repeats %s", i+1,
			ref[i].elapsed, prod[i].elapsed, dup[i].elapsed)
	}
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
	big := filepath.Join(b.env.dir, "big.csv")
	if err := writeUnique(big, 4*b.n); err != nil {
		return nil, err
	}
	// The same statistic on both sides: the largest peak of as many runs.
	var bigs []sample
	for i := 0; i < b.runs; i++ {
		s, err := b.parse(ctx, big)
		if err != nil {
			return nil, err
		}
		bigs = append(bigs, s)
	}
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
	d, rss, err := run(ctx, nil, b.env.psql, dsn, "-v", "ON_ERROR_STOP=1", "-c",
		fmt.Sprintf(`\copy customers (id, first_name, last_name, email, phone) from '%s' with (format csv, header true)`, file))
	return sample{d, rss}, err
}

// parse loads file with the parser into an empty database.
func (b *bench) parse(ctx context.Context, file string) (sample, error) {
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return sample{}, err
	}
	d, rss, err := run(ctx, []string{"DSN=" + dsn}, filepath.Join(b.env.bin, "parser"), file)
	return sample{d, rss}, err
}
