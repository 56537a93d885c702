package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/harness/check"
)

// database is the PostgreSQL database the demo runs on: DSN's, or one of a
// throwaway cluster it started.
type database struct {
	dsn     string
	cluster *pgtest.Cluster // nil when DSN was given
	pg      *postgres.DB
	db      *sql.DB // pg's connection pool
}

// openDatabase connects to o.dsn, or starts a throwaway cluster logging to
// logPath, and makes sure the customers table exists and is empty (emptying
// it first with o.reset).
func openDatabase(ctx context.Context, o options, logPath string) (*database, error) {
	d := &database{dsn: o.dsn}
	if d.dsn == "" {
		logFile, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		defer logFile.Close() // the server has its own descriptor
		d.cluster, err = pgtest.Start(ctx, pgtest.Options{Log: logFile})
		if err != nil {
			return nil, fmt.Errorf("start a throwaway PostgreSQL cluster (or set DSN to use a running server): %w", err)
		}
		d.dsn = d.cluster.DSN("postgres")
	}
	// postgres.Open creates the schema, as the parser and integrators would.
	pg, err := postgres.Open(ctx, d.dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	if err != nil {
		d.close()
		return nil, err
	}
	d.pg, d.db = pg, pg.SQL()
	if o.reset {
		if _, err := d.db.ExecContext(ctx, `DELETE FROM customers`); err != nil {
			d.close()
			return nil, fmt.Errorf("-reset: empty the customers table: %w", err)
		}
	}
	var rows int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM customers`).Scan(&rows); err != nil {
		d.close()
		return nil, fmt.Errorf("count customers: %w", err)
	}
	if rows > 0 {
		d.close()
		return nil, fmt.Errorf("the customers table of %s already holds %d rows and the check needs it empty: "+
			"point DSN at an empty database, unset DSN for a throwaway cluster, or add -reset to delete the rows",
			postgres.Redact(d.dsn), rows)
	}
	return d, nil
}

// where describes the database for the user.
func (d *database) where() string {
	if d.cluster != nil {
		return fmt.Sprintf("throwaway PostgreSQL cluster on 127.0.0.1:%d", d.cluster.Port())
	}
	return "PostgreSQL at " + postgres.Redact(d.dsn)
}

// close disconnects and stops the throwaway cluster, removing its files.
func (d *database) close() {
	if d.db != nil {
		d.db.Close()
	}
	if d.cluster != nil {
		_ = d.cluster.Stop()
	}
}

// tableCounts are the customers table's numbers: the states as
// `integrator status` counts them, and the failed attempts recorded.
type tableCounts struct {
	check.Store
	retries int64 // failed attempts recorded, all rows
}

// counts reads the table's numbers: the states in one snapshot, through
// the store's Backlog, then the failed attempts.
func (d *database) counts(ctx context.Context) (tableCounts, error) {
	s, err := check.ReadStore(ctx, d.pg)
	if err != nil {
		return tableCounts{}, err
	}
	c := tableCounts{Store: s}
	err = d.db.QueryRowContext(ctx, `SELECT coalesce(sum(attempts), 0) FROM customers`).Scan(&c.retries)
	return c, err
}

// span returns when the first row was stored and the last one sent, by
// the database's clock; zero times when none was.
func (d *database) span(ctx context.Context) (firstStored, lastSent time.Time, err error) {
	var first, last sql.NullTime
	err = d.db.QueryRowContext(ctx, `SELECT min(created_at), max(sent_at) FROM customers`).Scan(&first, &last)
	return first.Time, last.Time, err
}
