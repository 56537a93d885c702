// Package postgres is goquiz's PostgreSQL store: the schema, bulk loading of
// customer chunks with their notification, claiming and settling deliveries
// under leases, and listening for notifications. It implements
// common.ChunkWriter and common.Queue.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Channel is the NOTIFY channel on which a committed chunk is announced.
const Channel = "goquiz_customers"

// DB is a connection pool to goquiz's database.
type DB struct {
	db *sql.DB
}

// Open connects to dsn, retrying for up to wait while the server cannot be
// reached, and makes sure the schema exists. The returned error never
// contains the DSN's password.
func Open(ctx context.Context, dsn string, wait time.Duration) (*DB, error) {
	connector, err := pq.NewConnector(withSSLPrefer(dsn))
	if err != nil {
		return nil, fmt.Errorf("parse DSN %s: %w", Redact(dsn), err)
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = sqldb.PingContext(pctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().Add(delay).After(deadline) || !retryable(err) {
			sqldb.Close()
			return nil, fmt.Errorf("connect to PostgreSQL at %s: %w%s", Redact(dsn), err, Hint(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
	d := &DB{db: sqldb}
	if err := d.Migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return d, nil
}

// retryable tells whether a connection error may go away by waiting: the
// server is down or starting, not a wrong password or database.
func retryable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		// 57P03: cannot connect now (starting up or shutting down).
		return pqErr.Code == "57P03" || pqErr.Code.Class() == "08"
	}
	return true // network errors
}

// Hint returns what to do about a connection error, as a suffix for its
// message (" — is the server running…"), or "" when there is no advice.
func Hint(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case pqErr.Code == "28P01" || pqErr.Code == "28000":
			return " — check the user and password in DSN"
		case pqErr.Code == "3D000":
			return " — create the database or fix its name in DSN"
		case pqErr.Code == "57P03":
			return " — the server is starting or stopping: retry in a moment or raise CONNECT_TIMEOUT"
		case pqErr.Code.Class() == "08":
			return " — is the server running and is DSN right?"
		}
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return ""
	}
	if strings.Contains(err.Error(), "SSL is not enabled") {
		return " — add sslmode=disable to DSN, or enable TLS on the server"
	}
	return " — is the server running and is DSN right?"
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}
	return nil
}

// SQL returns the underlying pool, for tests and tools.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the pool.
func (d *DB) Close() error { return d.db.Close() }

// withSSLPrefer makes a DSN that names no sslmode use TLS when the server
// offers it and plain connections otherwise, as libpq does, instead of
// requiring TLS, which a local server often does not offer.
func withSSLPrefer(dsn string) string {
	if os.Getenv("PGSSLMODE") != "" || strings.Contains(dsn, "sslmode") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("sslmode", "prefer")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " sslmode=prefer"
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact returns dsn with any password replaced by "***", for logs and
// error messages.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "***")
			u.RawQuery = q.Encode()
		}
		return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}
