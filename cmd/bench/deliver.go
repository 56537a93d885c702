package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"goquiz/common"
	"goquiz/impl/gen"
	"goquiz/impl/mockcrm"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
	"goquiz/internal/harness/check"
)

// delivery is one integrator run: records preloaded, then the integrator
// started and timed until every record is marked sent.
type delivery struct {
	total    time.Duration // start to every record marked sent
	first    time.Duration // first accepted record to 10% of records accepted
	last     time.Duration // last 10% of records accepted
	rss      int64
	accepted int64
	// cpu is the integrator's CPU time (user and system), start-up and
	// shutdown included: far less moved by other processes than total.
	cpu time.Duration
}

// deliver runs the integrator over n preloaded records against a mock CRM
// with the given latency, env added to its environment.
func (b *bench) deliver(ctx context.Context, n int64, workers int, latency time.Duration, env ...string) (delivery, error) {
	dsn, err := b.preload(ctx, n)
	if err != nil {
		return delivery{}, err
	}
	crm, err := startCRM(mockcrm.Config{Latency: latency})
	if err != nil {
		return delivery{}, err
	}
	defer crm.close()
	p, err := b.startIntegrator(ctx, dsn, crm.URL, workers, env...)
	if err != nil {
		return delivery{}, err
	}
	defer p.Kill()
	peak := watchRSS(p.Pid())
	start := time.Now()
	acc, err := waitAccepted(ctx, crm.srv, n)
	if err != nil {
		return delivery{}, err
	}
	// The first tenth is timed from the first record accepted, not from
	// the start, so that the integrator's start-up does not slow it.
	d := delivery{first: acc.tenth.Sub(acc.first), last: acc.all.Sub(acc.nineTenths)}
	if err := waitAllSent(ctx, dsn); err != nil {
		return delivery{}, err
	}
	d.total = time.Since(start)
	d.accepted = crm.srv.AcceptedCount()
	d.rss = peak()
	p.Stop()
	d.cpu = p.CPU()
	if err := once(crm.srv.Stats(), n); err != nil {
		return delivery{}, err
	}
	return d, nil
}

// preload stores n unique records in a fresh, vacuumed database and
// returns its DSN.
func (b *bench) preload(ctx context.Context, n int64) (string, error) {
	file := b.file("deliver-" + strconv.FormatInt(n, 10) + ".csv")
	if _, err := os.Stat(file); err != nil {
		if err := writeUnique(file, n); err != nil {
			return "", err
		}
	}
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return "", err
	}
	if _, err := b.parseInto(ctx, dsn, file); err != nil {
		return "", err
	}
	return dsn, vacuum(ctx, dsn)
}

// stopGrace bounds an integrator's exit after SIGTERM: its requests in
// flight end within REQUEST_TIMEOUT (10s).
const stopGrace = 30 * time.Second

// startIntegrator starts an integrator with workers workers, env added to
// its environment, its output going to the bench's standard error. It gets
// SIGTERM when ctx ends or Stop is called, and is killed stopGrace later.
func (b *bench) startIntegrator(ctx context.Context, dsn, endpoint string, workers int, env ...string) (*harness.Process, error) {
	return harness.Start(ctx, harness.Spec{
		Path: harness.Bin(b.env.bin, harness.Integrator),
		Env: append([]string{"DSN=" + dsn, "API_ENDPOINT=" + endpoint, "WORKERS=" + strconv.Itoa(workers),
			"LOG_LEVEL=warn", "POLL_INTERVAL=1s"}, env...),
		Output: os.Stderr,
		Grace:  stopGrace,
	})
}

// once fails unless the CRM accepted each of n customers once, and none
// twice.
func once(st mockcrm.Stats, n int64) error {
	if fs := check.InCRM(st, check.Want{Accepted: n}); len(fs) > 0 {
		return errors.New(strings.Join(fs, "; "))
	}
	return nil
}

// accepted is when a mock CRM had accepted its first customer, a tenth
// of them, all but a tenth, and all.
type accepted struct{ first, tenth, nineTenths, all time.Time }

// waitAccepted waits until srv has accepted n customers, noting when.
func waitAccepted(ctx context.Context, srv *mockcrm.Server, n int64) (accepted, error) {
	tenth := max(n/10, 1)
	var a accepted
	for {
		acc := srv.AcceptedCount()
		now := time.Now()
		if a.first.IsZero() && acc > 0 {
			a.first = now
		}
		if a.tenth.IsZero() && acc >= tenth {
			a.tenth = now
		}
		if a.nineTenths.IsZero() && acc >= n-tenth {
			a.nineTenths = now
		}
		if acc >= n {
			a.all = now
			return a, nil
		}
		if err := ctx.Err(); err != nil {
			return a, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAllSent waits until no record of dsn is pending. It reads the
// store's counts (postgres.DB.Backlog), not the rows, whose count may
// read in proportion to the table after a load of millions (-scale) that
// no vacuum followed.
func waitAllSent(ctx context.Context, dsn string) error {
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = check.WaitStore(ctx, db, 5*time.Millisecond, check.Store.Settled)
	return err
}

// vacuum makes the freshly loaded table's visibility map and statistics
// current, as autovacuum would shortly after a load.
func vacuum(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `VACUUM ANALYZE customers`)
	return err
}

// plainClient is the delivery reference: a plain Go HTTP client POSTing the
// same n requests to a fresh mock CRM with workers in flight.
func (b *bench) plainClient(ctx context.Context, n int64, workers int) (time.Duration, error) {
	crm, err := startCRM(mockcrm.Config{})
	if err != nil {
		return 0, err
	}
	defer crm.close()
	customers := make([]common.Customer, 0, n)
	for c := range gen.Customers(n, 1) {
		customers = append(customers, c)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c := customers[i]
				body, _ := json.Marshal(map[string]any{"id": c.ID, "first_name": c.FirstName, "last_name": c.LastName, "email": c.Email, "phone": c.Phone})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, crm.URL, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", c.IdempotencyKey())
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, fmt.Errorf("plain client: %w", err)
	default:
	}
	if got := crm.srv.AcceptedCount(); got != n {
		return 0, fmt.Errorf("plain client: %d accepted of %d", got, n)
	}
	return elapsed, nil
}
