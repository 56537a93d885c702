package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"goquiz/common"
	"goquiz/impl/gen"
	"goquiz/impl/mockcrm"
	"goquiz/impl/postgres"
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
	p, err := b.startIntegrator(dsn, crm.URL, workers, env...)
	if err != nil {
		return delivery{}, err
	}
	defer p.Process.Kill()
	peak := watchRSS(p.Process.Pid)
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
	_ = p.Process.Signal(syscall.SIGTERM)
	_ = p.Wait()
	if ps := p.ProcessState; ps != nil {
		d.cpu = ps.UserTime() + ps.SystemTime()
	}
	if st := crm.srv.Stats(); st.Duplicates != 0 {
		return delivery{}, fmt.Errorf("the CRM saw %d duplicates", st.Duplicates)
	}
	return d, nil
}

// preload stores n unique records in a fresh, vacuumed database and
// returns its DSN.
func (b *bench) preload(ctx context.Context, n int64) (string, error) {
	file := filepath.Join(b.env.dir, "deliver-"+strconv.FormatInt(n, 10)+".csv")
	if _, err := os.Stat(file); err != nil {
		if err := writeUnique(file, n); err != nil {
			return "", err
		}
	}
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return "", err
	}
	if _, _, err := run(ctx, []string{"DSN=" + dsn}, filepath.Join(b.env.bin, "parser"), file); err != nil {
		return "", err
	}
	return dsn, vacuum(ctx, dsn)
}

// startIntegrator starts an integrator with workers workers, env added to
// its environment.
func (b *bench) startIntegrator(dsn, endpoint string, workers int, env ...string) (*exec.Cmd, error) {
	cmd := exec.Command(filepath.Join(b.env.bin, "integrator"))
	cmd.Env = append(os.Environ(), "DSN="+dsn, "API_ENDPOINT="+endpoint, "WORKERS="+strconv.Itoa(workers),
		"LOG_LEVEL=warn", "POLL_INTERVAL=1s")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd, cmd.Start()
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
	for {
		bl, err := db.Backlog(ctx)
		if err != nil {
			return err
		}
		if bl.Undelivered() == bl.Failed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
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
