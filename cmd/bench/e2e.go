package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/harness"
)

// endToEnd measures target 6: a file of n customers to the CRM with the
// integrator running while the parser loads, against the longer of the
// two stages alone.
func (b *bench) endToEnd(ctx context.Context) ([]row, error) {
	file := b.file("unique.csv")
	var samples []sample
	for i := 0; i < b.runs; i++ {
		dsn, err := b.env.freshDB(ctx)
		if err != nil {
			return nil, err
		}
		crm, err := startCRM(mockcrm.Config{})
		if err != nil {
			return nil, err
		}
		p, err := b.startIntegrator(ctx, dsn, crm.URL, 8)
		if err == nil {
			err = b.waitListening(ctx, dsn, p) // idle, listening
		}
		if err != nil {
			if p != nil {
				p.Kill()
			}
			crm.close()
			return nil, err
		}
		start := time.Now()
		if _, err := b.parseInto(ctx, dsn, file); err != nil {
			p.Kill()
			crm.close()
			return nil, err
		}
		for crm.srv.AcceptedCount() < b.n && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		err = waitAllSent(ctx, dsn)
		elapsed := time.Since(start)
		p.Stop()
		if err == nil {
			err = once(crm.srv.Stats(), b.n)
		}
		crm.close()
		if err != nil {
			return nil, err
		}
		samples = append(samples, sample{elapsed: elapsed})
		b.logf("end-to-end run %d: %s", i+1, elapsed.Round(1e7))
	}
	e := median(samples)
	longer := max(b.ingestTime, b.deliverTime)
	ratio := e.Seconds() / longer.Seconds()
	return []row{{
		target:   fmt.Sprintf("6. %d customers file to CRM vs the longer stage alone", b.n),
		measured: fmt.Sprintf("end to end %s, ingest %s, delivery %s", e.Round(1e7), b.ingestTime.Round(1e7), b.deliverTime.Round(1e7)),
		ratio:    ratio, bound: "<= 1.20",
		pass: ratio <= 1.2,
	}}, nil
}

// waitListening waits until the integrator p listens for notifications on
// dsn's database.
func (b *bench) waitListening(ctx context.Context, dsn string, p *harness.Process) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return harness.WaitReady(ctx, p, 30*time.Second, "the integrator does not listen", harness.Listening(db, 1))
}
