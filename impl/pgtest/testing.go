package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"
)

var (
	shared struct {
		once    sync.Once
		cluster *Cluster
		base    string // DSN of the server to create test databases on
		err     error
	}
	dbSeq atomic.Int64
)

// Main runs the tests of a package, then the cleanups, then stops the
// cluster the tests started, if any, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Deferred calls in TestMain do not run, since Main exits: pass them as
// cleanups instead.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	if shared.cluster != nil {
		_ = shared.cluster.Stop()
	}
	os.Exit(code)
}

// server returns the DSN of the server tests use: TEST_DSN, or a private
// cluster started on first use.
func server() (string, error) {
	shared.once.Do(func() {
		if dsn := os.Getenv("TEST_DSN"); dsn != "" {
			shared.base = dsn
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := Start(ctx, Options{})
		if err != nil {
			shared.err = err
			return
		}
		shared.cluster, shared.base = c, c.DSN("postgres")
	})
	return shared.base, shared.err
}

// Server returns the DSN of the PostgreSQL server the tests use (TEST_DSN,
// or the private cluster), skipping the test when none can be had, or failing
// it under CI=true. Tests that need a database of their own use DSN instead.
func Server(t testing.TB) string {
	t.Helper()
	base, err := server()
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL for this test: %v; set TEST_DSN=postgres://user:pass@host:5432/db?sslmode=disable or install the PostgreSQL server binaries", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return base
}

// SharedCluster returns the private cluster the tests run on, or skips the test
// when TEST_DSN points elsewhere (tests that restart the server need it).
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	Server(t)
	if shared.cluster == nil {
		t.Skip("this test restarts PostgreSQL and needs a private cluster; unset TEST_DSN")
	}
	return shared.cluster
}

// DSN creates a fresh, empty database for the test on the test server and
// returns its connection string; the database is dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := Server(t)
	name := fmt.Sprintf("goquiz_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("open test server: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	})
	dsn, err := WithDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// WithDatabase returns dsn with its database replaced by name. It accepts
// both URL (postgres://…) and key=value connection strings.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse TEST_DSN: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}
