package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// fillfactor leaves in each page takes the first new versions of its
// records (a settle rewrites a page's records together; the others go to
// pages vacuum freed behind the delivery, or to the end). So autovacuum
// of the table runs ten times less throttled than the default: a pass
// over 10,000,000 records takes about 15 s instead of 80, and frees the
// pages behind the delivery before the table grows past them. It does not
// vacuum the table for inserts alone: every record is rewritten when it
// is sent, so that vacuum is wasted, and it would land in the middle of a
// long load (chunk after chunk committed), slowing a load of 10,000,000
// rows by about a third. The partial index on failed rows finds them for
// retry-failed; the one on rejected rows, by the time they were
// rejected, finds the latest for the status and them all for
// retry-failed --rejected. The status reads counts kept by triggers (see counts.go),
// not the table; the index on the time records were sent, which it used
// to read, is dropped: it cost every settle an index entry.
var schema = append([]schemaObject{
	{"customers", relation, `CREATE TABLE IF NOT EXISTS customers (
		id              bigint PRIMARY KEY,
		first_name      text NOT NULL,
		last_name       text NOT NULL,
		email           text NOT NULL,
		phone           text NOT NULL,
		state           text NOT NULL DEFAULT 'pending' CONSTRAINT customers_state CHECK (state IN ('pending', 'sent', 'failed', 'rejected')),
		attempts        integer NOT NULL DEFAULT 0,
		next_attempt_at timestamptz NOT NULL DEFAULT now(),
		last_error      text,
		created_at      timestamptz NOT NULL DEFAULT now(),
		updated_at      timestamptz NOT NULL DEFAULT now(),
		sent_at         timestamptz
	) WITH (fillfactor = 90, autovacuum_vacuum_insert_threshold = -1, autovacuum_vacuum_cost_limit = 2000)`},
	{"autovacuum_vacuum_insert_threshold=-1", option, `ALTER TABLE customers SET (autovacuum_vacuum_insert_threshold = -1)`},
	{"autovacuum_vacuum_cost_limit=2000", option, `ALTER TABLE customers SET (autovacuum_vacuum_cost_limit = 2000)`},
	{"customers_due", relation, `CREATE INDEX IF NOT EXISTS customers_due ON customers (next_attempt_at) WHERE state = 'pending'`},
	{"customers_sent_at", absent, `DROP INDEX IF EXISTS customers_sent_at`},
	{"customers_failed", relation, `CREATE INDEX IF NOT EXISTS customers_failed ON customers (created_at) WHERE state = 'failed'`},
	{"customers_state", constraint, stateCheck},
	{"customers_rejected", relation, `CREATE INDEX IF NOT EXISTS customers_rejected ON customers (updated_at) WHERE state = 'rejected'`},
	{"claims", relation, `CREATE TABLE IF NOT EXISTS claims (
		id          bigserial PRIMARY KEY,
		owner       text NOT NULL,
		lease_until timestamptz NOT NULL,
		ids         bigint[] NOT NULL
	)`},
	{"claims_owner", relation, `CREATE INDEX IF NOT EXISTS claims_owner ON claims (owner)`},
	// The CRM's quota pause (see Queue.NoteQuota): one row at most.
	{"crm_pause", relation, `CREATE TABLE IF NOT EXISTS crm_pause (
		one        boolean PRIMARY KEY DEFAULT true CHECK (one),
		until      timestamptz NOT NULL,
		noted_by   text NOT NULL,
		noted_at   timestamptz NOT NULL DEFAULT now()
	)`},
	// The CRM's rate limit as each integrator's pacing found it, and the
	// rate the CRM took of the integrator's requests (see
	// Queue.NoteLimit): one row per integrator at most, rows long past
	// dropped as limits are noted.
	{"pace_limits", relation, `CREATE TABLE IF NOT EXISTS pace_limits (
		owner text PRIMARY KEY,
		until timestamptz NOT NULL,
		rate double precision NOT NULL DEFAULT 0
	)`},
	{"goquiz_claim_versions", function, claimFunction},
	{"goquiz_claim_probe", function, probeFunction},
	{"goquiz_settle_rejects", function, settleFunction},
}, append(slices.Clone(countSchema), syncSchema...)...)

// stateCheck names the states' CHECK constraint customers_state, which
// allows 'rejected', in place of the unnamed one of the schemas before
// it. The old one allowed fewer states, so the rows need no check: NOT
// VALID spares a scan of the table, and new rows are checked all the
// same.
const stateCheck = `DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'customers_state' AND conrelid = 'customers'::regclass) THEN
		ALTER TABLE customers DROP CONSTRAINT IF EXISTS customers_state_check;
		ALTER TABLE customers ADD CONSTRAINT customers_state
			CHECK (state IN ('pending', 'sent', 'failed', 'rejected')) NOT VALID;
	END IF;
END $$`

// schemaObject is one object of the schema: its name, its kind, and the
// idempotent statements that create it.
type schemaObject struct {
	name string
	kind objectKind
	ddl  string
}

// objectKind tells how to look for an object of the schema.
type objectKind string

// The kinds of schema objects.
const (
	relation objectKind = "relation" // a table or an index
	function objectKind = "function"
	trigger  objectKind = "trigger" // on customers
	absent   objectKind = "absent"  // a relation of an older schema, dropped
	option   objectKind = "option"  // a storage parameter of customers
	// constraint is a constraint of customers.
	constraint objectKind = "constraint"
	// column is a column, named table.column.
	column objectKind = "column"
	// absentTrigger is a trigger on customers of an older schema, dropped.
	absentTrigger objectKind = "absent trigger"
)

// schemaExists tells whether every object of the schema, named in $1
// with its kind in $2, exists.
const schemaExists = `
	SELECT bool_and(CASE o.kind
		WHEN 'relation' THEN to_regclass(o.name) IS NOT NULL
		WHEN 'absent' THEN to_regclass(o.name) IS NULL
		WHEN 'option' THEN o.name = ANY ((SELECT reloptions FROM pg_class WHERE oid = to_regclass('customers'))::text[])
		WHEN 'function' THEN to_regproc(o.name) IS NOT NULL
		WHEN 'trigger' THEN EXISTS (SELECT FROM pg_trigger
			WHERE tgname = o.name AND tgrelid = to_regclass('customers'))
		WHEN 'constraint' THEN EXISTS (SELECT FROM pg_constraint
			WHERE conname = o.name AND conrelid = to_regclass('customers'))
		WHEN 'column' THEN EXISTS (SELECT FROM pg_attribute
			WHERE attrelid = to_regclass(split_part(o.name, '.', 1)) AND attname = split_part(o.name, '.', 2)
			  AND NOT attisdropped)
		WHEN 'absent trigger' THEN NOT EXISTS (SELECT FROM pg_trigger
			WHERE tgname = o.name AND tgrelid = to_regclass('customers'))
	END)
	FROM unnest($1::text[], $2::text[]) AS o(name, kind)`

// objectsExist tells whether every one of objs exists.
func (d *DB) objectsExist(ctx context.Context, objs []schemaObject) (bool, error) {
	names := make(pq.StringArray, len(objs))
	kinds := make(pq.StringArray, len(objs))
	for i, o := range objs {
		names[i], kinds[i] = o.name, string(o.kind)
	}
	var exists bool
	err := d.db.QueryRowContext(ctx, schemaExists, names, kinds).Scan(&exists)
	return exists, err
}

// Migrate creates the schema if it does not exist. It is safe to call from
// several processes at once: they take turns under an advisory lock.
func (d *DB) Migrate(ctx context.Context) error {
	// Once the schema exists, touch nothing: CREATE INDEX IF NOT EXISTS
	// takes a lock on the table before it looks, and would queue every
	// writer behind any transaction open on it.
	exists, err := d.objectsExist(ctx, schema)
	if err != nil {
		return fmt.Errorf("look for the schema: %w", err)
	}
	if exists {
		return nil
	}
	// With the counts' objects already there, the counts are right: an
	// object added since (a table of its own) needs no recount, which
	// reads the whole table under a lock that holds every writer (5-20 s
	// per 10,000,000 records).
	counted, err := d.objectsExist(ctx, append(append([]schemaObject{schema[0]}, countSchema...), syncSchema...))
	if err != nil {
		return fmt.Errorf("look for the schema: %w", err)
	}
	// Waiting for the lock (another process creating the schema, or DDL
	// queued behind a long transaction) may rightly take longer than a
	// round trip.
	err = d.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, schemaLock); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
		for _, o := range schema {
			if _, err := tx.ExecContext(ctx, o.ddl); err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
		}
		if counted {
			return nil
		}
		// The counting triggers hold a lock on customers until the
		// commit, so no record changes while the counts start from the
		// rows there are.
		_, err := recount(ctx, tx, false)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema: %w%s", err, d.privilegeHint(ctx, err))
	}
	return nil
}

// privilegeHint returns, for an error of a role that may not create or
// upgrade the schema (42501: permission denied for the schema, or not the
// owner of its tables), what right it lacks and how to get it, as a
// suffix; "" for any other error, other refusals of 42501 included (their
// message names the object). PostgreSQL 15 grants CREATE on the public
// schema to the database's owner only, so a role that does not own its
// database meets the first on the first start; a role that is not the
// owner of the tables meets the second when an upgrade adds an object.
func (d *DB) privilegeHint(ctx context.Context, err error) string {
	var pqErr *pq.Error
	switch {
	case !errors.As(err, &pqErr) || pqErr.Code != "42501":
		return ""
	case strings.HasPrefix(pqErr.Message, "must be owner of"):
		return " — the schema is created and upgraded by the role that owns its tables: start goquiz once as that role"
	case !strings.HasPrefix(pqErr.Message, "permission denied for schema"):
		return ""
	}
	role, schema := "the role", "public"
	var r, s sql.NullString
	if d.db.QueryRowContext(ctx, `SELECT quote_ident(current_user), quote_ident(current_schema())`).Scan(&r, &s) == nil && r.Valid {
		role = r.String
		if s.Valid {
			schema = s.String
		}
	}
	return fmt.Sprintf(" — the role needs the right to create tables in its schema the first time: GRANT CREATE ON SCHEMA %s TO %s (as the database's owner), or start goquiz once as the owner", schema, role)
}
