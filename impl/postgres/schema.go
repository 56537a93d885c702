package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
)

// schemaLock is the advisory lock key under which the schema is created, so
// that processes starting at once do not race on DDL.
const schemaLock = 0x676f71756978 // "goquix"

// schema creates goquiz's tables and indexes, each named by the object it
// creates; every statement is idempotent.
//
// A customer is pending until the CRM accepted it, then sent (or failed,
// when given up). A pending record is due when next_attempt_at has passed;
// one index on next_attempt_at over pending rows finds the due ones in
// order. An integrator claims a batch of due records by adding a row to
// claims that lists their ids under its name and a lease; the records
// themselves are written only when their outcome is known. The room that
// fillfactor leaves in each page lets most of those writes stay in the
// record's page, so the table does not grow by a copy of every record
// sent. The partial indexes on sent and failed rows keep the status
// queries (sent in the last minute, failed records and their errors) from
// reading the whole table.
var schema = []struct{ name, ddl string }{
	{"customers", `CREATE TABLE IF NOT EXISTS customers (
		id              bigint PRIMARY KEY,
		first_name      text NOT NULL,
		last_name       text NOT NULL,
		email           text NOT NULL,
		phone           text NOT NULL,
		state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
		attempts        integer NOT NULL DEFAULT 0,
		next_attempt_at timestamptz NOT NULL DEFAULT now(),
		last_error      text,
		created_at      timestamptz NOT NULL DEFAULT now(),
		updated_at      timestamptz NOT NULL DEFAULT now(),
		sent_at         timestamptz
	) WITH (fillfactor = 90)`},
	{"customers_due", `CREATE INDEX IF NOT EXISTS customers_due ON customers (next_attempt_at) WHERE state = 'pending'`},
	{"customers_sent_at", `CREATE INDEX IF NOT EXISTS customers_sent_at ON customers (sent_at) WHERE state = 'sent'`},
	{"customers_failed", `CREATE INDEX IF NOT EXISTS customers_failed ON customers (created_at) WHERE state = 'failed'`},
	{"claims", `CREATE TABLE IF NOT EXISTS claims (
		id          bigserial PRIMARY KEY,
		owner       text NOT NULL,
		lease_until timestamptz NOT NULL,
		ids         bigint[] NOT NULL
	)`},
	{"claims_owner", `CREATE INDEX IF NOT EXISTS claims_owner ON claims (owner)`},
}

// Migrate creates the schema if it does not exist. It is safe to call from
// several processes at once: they take turns under an advisory lock.
func (d *DB) Migrate(ctx context.Context) error {
	// Once the schema exists, touch nothing: CREATE INDEX IF NOT EXISTS
	// takes a lock on the table before it looks, and would queue every
	// writer behind any transaction open on it.
	names := make(pq.StringArray, len(schema))
	for i, o := range schema {
		names[i] = o.name
	}
	var exists bool
	if err := d.db.QueryRowContext(ctx, `SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest($1::text[]) AS n`,
		names).Scan(&exists); err != nil {
		return fmt.Errorf("look for the schema: %w", err)
	}
	if exists {
		return nil
	}
	// Waiting for the lock (another process creating the schema, or DDL
	// queued behind a long transaction) may rightly take longer than a
	// round trip.
	err := d.long(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, schemaLock); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
		for _, o := range schema {
			if _, err := tx.ExecContext(ctx, o.ddl); err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}
