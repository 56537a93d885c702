package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"time"

	"goquiz/common"
	"goquiz/impl/gen"
	"goquiz/impl/mockcrm"
)

// syncExports measures the targets of daily exports (issue 22): an upsert
// of the next day's export into the previous day's table against psql
// \copy into a plain table, with the integrator sending exactly the
// changed and new customers; the parser in insert mode against the same
// reference; the parser's peak RSS in both modes.
func (b *bench) syncExports(ctx context.Context) ([]row, error) {
	day1, day2 := b.file("sync-day1.csv"), b.file("sync-day2.csv")
	changed, added, err := writeDays(day1, day2, b.n)
	if err != nil {
		return nil, err
	}
	// The two compared take turns at running first after the reference.
	var lastDSN string
	runs, err := b.rounds(ctx, 2, func(i int, r []sample) {
		b.logf("sync run %d: psql \\copy into a plain table %s, parser insert %s (CPU %s, %s), upsert of day 2 %s (CPU %s, %s)",
			i, r[0].elapsed.Round(1e7), r[1].elapsed.Round(1e7), r[1].cpu.Round(1e7), mib(r[1].rss),
			r[2].elapsed.Round(1e7), r[2].cpu.Round(1e7), mib(r[2].rss))
	},
		func(ctx context.Context) (sample, error) { return b.copyPlain(ctx, day1) },
		func(ctx context.Context) (sample, error) { return b.parseWith(ctx, day1) },
		func(ctx context.Context) (s sample, err error) {
			s, lastDSN, err = b.upsertDay2(ctx, day1, day2)
			return s, err
		},
	)
	if err != nil {
		return nil, err
	}
	plain, insert, upsert := runs[0], runs[1], runs[2]
	sent, err := b.sendDay2(ctx, lastDSN)
	if err != nil {
		return nil, err
	}
	p, in, up := median(plain), median(insert), median(upsert)
	peak := max(maxRSSOf(insert), maxRSSOf(upsert))
	want := changed + added
	rows := []row{
		{
			target: fmt.Sprintf("S1. upsert %d rows (%d changed, %d new) into the day before's %d vs psql \\copy of %d into a plain table",
				b.n+added, changed, added, b.n, b.n),
			measured: fmt.Sprintf("copy %s (%s), upsert %s (%s; runs %s); integrator sent %d of %d (%d newer versions, %d out of order)",
				p.Round(1e7), rate(b.n, p), up.Round(1e7), rate(b.n+added, up), durs(upsert),
				sent.Accepted, want, sent.NewerVersions, sent.OutOfOrder),
			ratio: up.Seconds() / p.Seconds(), bound: "<= 2.00, sends exactly the changed and new",
		},
		{
			target:   fmt.Sprintf("S2. ingest %d rows, SYNC_MODE=insert, vs psql \\copy into a plain table", b.n),
			measured: fmt.Sprintf("copy %s (%s), parser %s (%s; runs %s)", p.Round(1e7), rate(b.n, p), in.Round(1e7), rate(b.n, in), durs(insert)),
			ratio:    in.Seconds() / p.Seconds(), bound: "<= 1.25",
		},
		{
			target:   fmt.Sprintf("S3. parser peak RSS, %d rows, insert and upsert", b.n),
			measured: fmt.Sprintf("insert %s, upsert %s", mib(maxRSSOf(insert)), mib(maxRSSOf(upsert))),
			ratio:    float64(peak) / (64 << 20), bound: "<= 64 MiB",
			pass: peak <= 64<<20,
		},
	}
	rows[0].pass = rows[0].ratio <= 2 && sent.Accepted == want && sent.OutOfOrder == 0
	rows[1].pass = rows[1].ratio <= 1.25
	return rows, nil
}

// upsertDay2 loads day1 into a fresh database in insert mode and marks it
// delivered, as the day before left it (vacuumed, as autovacuum would have
// by the next day), then times the parser loading day2 in
// SYNC_MODE=upsert. It returns the sample and the database.
func (b *bench) upsertDay2(ctx context.Context, day1, day2 string) (sample, string, error) {
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return sample{}, "", err
	}
	if _, err := b.parseInto(ctx, dsn, day1); err != nil {
		return sample{}, "", err
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return sample{}, "", err
	}
	_, err = db.ExecContext(ctx, `UPDATE customers SET state = 'sent', sent_at = now() - interval '1 day'`)
	db.Close()
	if err != nil {
		return sample{}, "", fmt.Errorf("mark day 1 sent: %w", err)
	}
	if err := vacuum(ctx, dsn); err != nil {
		return sample{}, "", err
	}
	_, _ = b.env.admin.ExecContext(ctx, "CHECKPOINT")
	s, err := b.parseInto(ctx, dsn, day2, "SYNC_MODE=upsert")
	return s, dsn, err
}

// sendDay2 delivers what the upsert left pending in dsn to a fresh mock
// CRM and returns what the CRM accepted.
func (b *bench) sendDay2(ctx context.Context, dsn string) (mockcrm.Stats, error) {
	c, err := startCRM(mockcrm.Config{})
	if err != nil {
		return mockcrm.Stats{}, err
	}
	defer c.close()
	p, err := b.startIntegrator(ctx, dsn, c.URL, 64)
	if err != nil {
		return mockcrm.Stats{}, err
	}
	defer p.Kill()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := waitAllSent(wctx, dsn); err != nil {
		return mockcrm.Stats{}, fmt.Errorf("deliver day 2: %w", err)
	}
	// Whatever else would come (nothing should) has a moment to.
	time.Sleep(2 * time.Second)
	return c.srv.Stats(), nil
}

// writeDays writes day one's export of n generated customers to day1, and
// day two's to day2: the same customers, every tenth with a new email,
// then n/100 new ones. It returns how many changed and how many are new.
func writeDays(day1, day2 string, n int64) (changed, added int64, err error) {
	var w1, w2 fileWriter
	if err := w1.create(day1); err != nil {
		return 0, 0, err
	}
	if err := w2.create(day2); err != nil {
		return 0, 0, err
	}
	line := func(w *bufio.Writer, c common.Customer) {
		q := quoteFor(",")
		fmt.Fprintf(w, "%d,%s,%s,%s,%s\n", c.ID, q(c.FirstName), q(c.LastName), q(c.Email), q(c.Phone))
	}
	fmt.Fprint(w1.buf, gen.Header+"\n")
	fmt.Fprint(w2.buf, gen.Header+"\n")
	for c := range gen.Customers(n+n/100, 22) {
		if c.ID > n {
			line(w2.buf, c)
			added++
			continue
		}
		line(w1.buf, c)
		if c.ID%10 == 0 {
			c.Email = fmt.Sprintf("day2.%d@example.org", c.ID)
			changed++
		}
		line(w2.buf, c)
	}
	for _, w := range []*fileWriter{&w1, &w2} {
		if err := w.close(); err != nil {
			return 0, 0, err
		}
	}
	return changed, added, nil
}

// parseInto runs the parser on file into the database dsn as it is, with
// env added to its environment.
func (b *bench) parseInto(ctx context.Context, dsn, file string, env ...string) (sample, error) {
	return measure(ctx, append([]string{"DSN=" + dsn}, env...), b.parser(), file)
}
