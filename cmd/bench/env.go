package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
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
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.CommandContext(ctx, gobin, "build", "-o", e.bin+"/", "goquiz/cmd/parser", "goquiz/cmd/integrator")
	if out, err := build.CombinedOutput(); err != nil {
		e.close()
		return nil, fmt.Errorf("build binaries: %v: %s", err, out)
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

// run runs a binary of the product (or psql) to its end and returns its
// wall time and peak RSS in bytes.
func run(ctx context.Context, env []string, name string, args ...string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	peak := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	elapsed := time.Since(start)
	rss := peak()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", filepath.Base(name), err, lastLine(out.Bytes()))
	}
	return elapsed, rss, nil
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

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
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
