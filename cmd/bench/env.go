package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
)

// env is what every measurement runs against: one durable cluster, the
// product's binaries, and a scratch directory.
type env struct {
	cluster *pgtest.Cluster
	bin     string // directory of parser, integrator
	dir     string // scratch files
	psql    string
	admin   *sql.DB
	dbSeq   atomic.Int64
}

func newEnv(ctx context.Context) (*env, error) {
	e := &env{}
	var err error
	e.dir, err = os.MkdirTemp("", "goquiz-bench-")
	if err != nil {
		return nil, err
	}
	e.bin = filepath.Join(e.dir, "bin")
	if err := harness.Build(ctx, e.bin, false, harness.Parser, harness.Integrator); err != nil {
		e.close()
		return nil, fmt.Errorf("build binaries: %w", err)
	}
	bindir, err := pgtest.BinDir()
	if err != nil {
		e.close()
		return nil, err
	}
	e.psql = filepath.Join(bindir, "psql")
	if _, err := os.Stat(e.psql); err != nil {
		if e.psql, err = exec.LookPath("psql"); err != nil {
			e.close()
			return nil, fmt.Errorf("psql not found (apt-get install postgresql-client): %w", err)
		}
	}
	// Stock settings, fsync on: the reference is measured on the same.
	e.cluster, err = pgtest.Start(ctx, pgtest.Options{Durable: true, Settings: map[string]string{"max_wal_size": "4GB"}})
	if err != nil {
		e.close()
		return nil, err
	}
	e.admin, err = sql.Open("postgres", e.cluster.DSN("postgres"))
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// file is the path of the scratch file name.
func (b *bench) file(name string) string { return filepath.Join(b.env.dir, name) }

func (e *env) close() {
	if e.admin != nil {
		e.admin.Close()
	}
	if e.cluster != nil {
		_ = e.cluster.Stop()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// freshDB creates an empty database with goquiz's schema and returns its
// DSN; the previous benchmark databases are dropped to keep the disk small.
func (e *env) freshDB(ctx context.Context) (string, error) {
	n := e.dbSeq.Add(1)
	if n > 1 {
		old := fmt.Sprintf("bench_%d", n-1)
		if _, err := e.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(old)+" WITH (FORCE)"); err != nil {
			return "", err
		}
	}
	name := fmt.Sprintf("bench_%d", n)
	if _, err := e.admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", err
	}
	dsn := e.cluster.DSN(name)
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	db.Close()
	// Let the checkpointer settle so runs start alike.
	_, _ = e.admin.ExecContext(ctx, "CHECKPOINT")
	return dsn, nil
}

// measure runs a program of the product (or psql) to its end, with env
// added to its environment, and returns its wall time, peak RSS and CPU
// time.
func measure(ctx context.Context, env []string, path string, args ...string) (sample, error) {
	var out harness.SyncBuffer
	p, err := harness.Start(ctx, harness.Spec{Path: path, Args: args, Env: env, Output: &out})
	if err != nil {
		return sample{}, err
	}
	peak := watchRSS(p.Pid())
	<-p.Done()
	s := sample{elapsed: p.Ended.Sub(p.Started), rss: peak(), cpu: p.CPU()}
	if err := p.Err(); err != nil {
		return sample{}, fmt.Errorf("%s: %v: %s", p.Name, err, harness.LastLines(out.String(), 1))
	}
	return s, nil
}

// watchRSS samples the peak resident set size (VmHWM) of process pid every
// 10 ms until the returned function is called, which returns the largest
// seen. The kernel's own figure for a child (rusage) is useless here: a
// child forked from this process starts with this process's peak.
func watchRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(pid); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// vmHWM reads the peak resident set size of pid from /proc, or 0.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// crm is a mock CRM on a loopback port.
type crm struct {
	srv  *mockcrm.Server
	http *http.Server
	URL  string
}

func startCRM(cfg mockcrm.Config) (*crm, error) {
	c := &crm{srv: mockcrm.New(cfg)}
	return c, c.serve(c.srv)
}

// serve serves h, which passes the requests to c.srv, on a loopback port.
func (c *crm) serve(h http.Handler) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.URL = "http://" + l.Addr().String() + "/customers"
	c.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go c.http.Serve(l)
	return nil
}

func (c *crm) close() { c.http.Close() }
