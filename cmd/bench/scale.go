package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
)

// flow is one run of the real flow: a file loaded by the parser into an
// empty database, then delivered by one integrator, with no VACUUM in
// between, the backlog read through /metrics and `integrator status`
// while it runs and after.
type flow struct {
	n                          int64
	load                       time.Duration
	parserRSS                  int64
	loaded                     int64         // table and index bytes after the load
	total                      time.Duration // integrator start to every record marked sent
	last                       time.Duration // the last tenth of the records accepted
	intRSS                     int64
	delivered                  int64 // table and index bytes after delivery
	scrapeDuring, statusDuring probes
	scrapeAfter, statusAfter   probes
}

func (f flow) rate() float64     { return float64(f.n) / f.total.Seconds() }
func (f flow) lastRate() float64 { return float64(f.n/10) / f.last.Seconds() }

// atScale measures the targets of ten times the records next to the same
// flow at the usual size, in one run: loading against psql \copy,
// delivery rates, peak RSS, the cost of reading the backlog, and the
// table's growth.
func (b *bench) atScale(ctx context.Context) ([]row, error) {
	small, big := b.n, 10*b.n
	smallFile := b.file("scale-" + strconv.FormatInt(small, 10) + ".csv")
	bigFile := b.file("scale-" + strconv.FormatInt(big, 10) + ".csv")
	for _, f := range []struct {
		path string
		n    int64
	}{{smallFile, small}, {bigFile, big}} {
		if err := writeUnique(f.path, f.n); err != nil {
			return nil, err
		}
	}
	runs, err := b.rounds(ctx, 0, func(i int, r []sample) {
		b.logf("scale ingest run %d: psql \\copy %s, parser %s", i, r[0].elapsed.Round(1e7), r[1].elapsed.Round(1e7))
	}, b.copying(bigFile), b.parsing(bigFile))
	if err != nil {
		return nil, err
	}
	ref, prod := runs[0], runs[1]
	// The usual size before and after the large one, so that a machine
	// whose load changes meanwhile moves the reference with it.
	before, err := b.flow(ctx, small, smallFile)
	if err != nil {
		return nil, err
	}
	large, err := b.flow(ctx, big, bigFile)
	if err != nil {
		return nil, err
	}
	after, err := b.flow(ctx, small, smallFile)
	if err != nil {
		return nil, err
	}
	return scaleRows(small, big, median(ref), median(prod), before, large, after), nil
}

// scaleRows turns the scale measurements into result rows.
func scaleRows(small, big int64, copyT, parseT time.Duration, before, large, after flow) []row {
	refRate := (before.rate() + after.rate()) / 2
	refParserRSS := max(before.parserRSS, after.parserRSS)
	refIntRSS := max(before.intRSS, after.intRSS)
	rows := []row{
		{
			target:   fmt.Sprintf("S1. ingest %d unique rows vs psql \\copy", big),
			measured: fmt.Sprintf("copy %s (%s), parser %s (%s)", copyT.Round(1e7), rate(big, copyT), parseT.Round(1e7), rate(big, parseT)),
			ratio:    parseT.Seconds() / copyT.Seconds(), bound: "<= 1.25",
		},
		{
			target:   fmt.Sprintf("S2. parser peak RSS, %d vs %d rows", big, small),
			measured: fmt.Sprintf("%s vs %s", mib(large.parserRSS), mib(refParserRSS)),
			ratio:    float64(large.parserRSS) / float64(refParserRSS), bound: "0.90-1.10",
		},
		{
			target: fmt.Sprintf("S3. deliver %d records after the parser's load vs %d", big, small),
			measured: fmt.Sprintf("%.0f/s vs %.0f/s (%.0f/s before, %.0f/s after)",
				large.rate(), refRate, before.rate(), after.rate()),
			ratio: large.rate() / refRate, bound: ">= 0.90",
		},
		{
			target:   fmt.Sprintf("S3. delivery rate of the last %d of %d vs %d", big/10, big, small),
			measured: fmt.Sprintf("%.0f/s vs %.0f/s", large.lastRate(), refRate),
			ratio:    large.lastRate() / refRate, bound: ">= 0.90",
		},
		{
			target:   fmt.Sprintf("S4. integrator peak RSS, %d vs %d records", big, small),
			measured: fmt.Sprintf("%s vs %s", mib(large.intRSS), mib(refIntRSS)),
			ratio:    float64(large.intRSS) / float64(refIntRSS), bound: "0.90-1.10",
		},
		probeRow(fmt.Sprintf("S5. GET /metrics at %d records, while delivering", big), large.scrapeDuring, 100*time.Millisecond),
		probeRow(fmt.Sprintf("S5. GET /metrics at %d records, all sent", big), large.scrapeAfter, 100*time.Millisecond),
		probeRow(fmt.Sprintf("S5. integrator status at %d records, while delivering", big), large.statusDuring, time.Second),
		probeRow(fmt.Sprintf("S5. integrator status at %d records, all sent", big), large.statusAfter, time.Second),
		{
			target:   fmt.Sprintf("S6. table and indexes after delivery vs after load, %d records", big),
			measured: fmt.Sprintf("%s vs %s (at %d: %s vs %s)", mb(large.delivered), mb(large.loaded), small, mb(before.delivered), mb(before.loaded)),
			ratio:    float64(large.delivered) / float64(large.loaded), bound: "<= 1.50",
		},
	}
	for i := range rows {
		switch r := &rows[i]; r.bound {
		case "<= 1.25":
			r.pass = r.ratio <= 1.25
		case "<= 1.50":
			r.pass = r.ratio <= 1.5
		case "0.90-1.10":
			r.pass = r.ratio >= 0.9 && r.ratio <= 1.1
		case ">= 0.90":
			r.pass = r.ratio >= 0.9
		}
	}
	return rows
}

// flow loads file (n customers) into an empty database with the parser
// and delivers it with one integrator, probing the backlog as it goes.
func (b *bench) flow(ctx context.Context, n int64, file string) (flow, error) {
	f := flow{n: n}
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return f, err
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return f, err
	}
	defer db.Close()
	s, err := b.parseInto(ctx, dsn, file)
	if err != nil {
		return f, err
	}
	f.load, f.parserRSS = s.elapsed, s.rss
	if f.loaded, err = tableBytes(ctx, db); err != nil {
		return f, err
	}
	crm, err := startCRM(mockcrm.Config{})
	if err != nil {
		return f, err
	}
	defer crm.close()
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return f, err
	}
	p, err := b.startIntegrator(ctx, dsn, crm.URL, 8, "METRICS_LISTEN="+metricsAddr)
	if err != nil {
		return f, err
	}
	defer p.Kill()
	peak := watchRSS(p.Pid())
	start := time.Now()
	pr := b.prober(dsn, "http://"+metricsAddr+"/metrics")
	stopProbing := pr.every(ctx, 5*time.Second)
	acc, err := waitAccepted(ctx, crm.srv, n)
	if err != nil {
		stopProbing()
		return f, err
	}
	f.last = acc.all.Sub(acc.nineTenths)
	if err := waitAllSent(ctx, dsn); err != nil {
		stopProbing()
		return f, err
	}
	f.total = time.Since(start)
	f.scrapeDuring, f.statusDuring = stopProbing()
	if f.scrapeAfter, f.statusAfter, err = pr.times(ctx, 3); err != nil {
		return f, err
	}
	if f.delivered, err = tableBytes(ctx, db); err != nil {
		return f, err
	}
	f.intRSS = peak()
	p.Stop()
	if err := once(crm.srv.Stats(), n); err != nil {
		return f, err
	}
	b.logf("flow of %d: load %s, delivery %s (%.0f/s, last tenth %.0f/s), /metrics %s then %s, status %s then %s, %s -> %s",
		n, f.load.Round(1e7), f.total.Round(1e7), f.rate(), f.lastRate(), f.scrapeDuring, f.scrapeAfter,
		f.statusDuring, f.statusAfter, mb(f.loaded), mb(f.delivered))
	return f, nil
}

// tableBytes returns the size of the customers table with its indexes.
func tableBytes(ctx context.Context, db *postgres.DB) (int64, error) {
	var n int64
	err := db.SQL().QueryRowContext(ctx, `SELECT pg_total_relation_size('customers')`).Scan(&n)
	return n, err
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }
