package main

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"goquiz/impl/mockcrm"
)

// endToEnd measures target 6: a file of n customers to the CRM with the
// integrator running while the parser loads, against the longer of the
// two stages alone.
func (b *bench) endToEnd(ctx context.Context) ([]row, error) {
	file := filepath.Join(b.env.dir, "unique.csv")
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
		p, err := b.startIntegrator(dsn, crm.URL, 8)
		if err != nil {
			crm.close()
			return nil, err
		}
		time.Sleep(300 * time.Millisecond) // idle, listening
		start := time.Now()
		if _, _, err := run(ctx, []string{"DSN=" + dsn}, filepath.Join(b.env.bin, "parser"), file); err != nil {
			p.Process.Kill()
			crm.close()
			return nil, err
		}
		for crm.srv.AcceptedCount() < b.n && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		err = waitAllSent(ctx, dsn)
		elapsed := time.Since(start)
		_ = p.Process.Signal(syscall.SIGTERM)
		_ = p.Wait()
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
