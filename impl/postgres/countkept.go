package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// countedSetting is the setting by which a transaction says that it
// counts the customers it inserts itself (see counts.go). SET LOCAL ends
// with the transaction: nothing is left on the session, which a
// transaction-pooling proxy would hand to someone else.
const countedSetting = `SET LOCAL goquiz.counted = 'on'`

// insertUncounted is the trigger function run once after every statement
// that inserts customers: unless the transaction counts its inserts
// itself, it marks the counts as stale, to be recounted from the rows
// (goquiz_fix_counts).
const insertUncounted = `CREATE OR REPLACE FUNCTION goquiz_insert_uncounted() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
BEGIN
	IF current_setting('goquiz.counted', true) IS DISTINCT FROM 'on' THEN
		INSERT INTO counts_stale DEFAULT VALUES;
	END IF;
	RETURN NULL;
END $f$`

// fixCounts is goquiz_fix_counts(recount): when inserts left the counts
// stale, it recounts the records (the statement recount, recountSQL) and
// drops the marks it saw, in one statement, and returns the number of
// marks; 0 when there were none, or when another process is recounting or
// folding the counts (it will do). The marks are read before the recount,
// whose own snapshot is taken later: the rows of every transaction that
// left a mark it drops are counted. The recount is an argument, not a
// part of the function: a later version's recount is run by the function
// an earlier version created.
var fixCounts = `CREATE OR REPLACE FUNCTION goquiz_fix_counts(recount text) RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
DECLARE
	marks bigint[];
BEGIN
	SELECT array_agg(id) INTO marks FROM counts_stale;
	IF marks IS NULL OR NOT pg_try_advisory_xact_lock(` + strconv.Itoa(countLock) + `) THEN
		RETURN 0;
	END IF;
	EXECUTE recount;
	DELETE FROM counts_stale WHERE id = ANY (marks);
	RETURN cardinality(marks);
END $f$`

// recountLocked is goquiz_recount(recount): it waits for the lock of the
// counts, then runs the statement recount (recountSQL) and returns its
// row, and drops the marks of inserts by hand read before it: one
// statement, which holds the lock only while it runs. Two recounts at
// once would both correct the same difference.
var recountLocked = `CREATE OR REPLACE FUNCTION goquiz_recount(recount text) RETURNS SETOF record
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
DECLARE
	marks bigint[];
BEGIN
	PERFORM pg_advisory_xact_lock(` + strconv.Itoa(countLock) + `);
	SELECT array_agg(id) INTO marks FROM counts_stale;
	RETURN QUERY EXECUTE recount;
	DELETE FROM counts_stale WHERE id = ANY (marks);
END $f$`

// countInserts says that tx counts its inserts itself (countedSetting),
// and sets the other settings given, in the same round trip.
func countInserts(ctx context.Context, tx *sql.Tx, settings string) error {
	if _, err := tx.ExecContext(ctx, countedSetting+settings); err != nil {
		return fmt.Errorf("count inserts: %w", err)
	}
	return nil
}

// addInserted appends the counts of n customers tx inserted, pending and
// stored at its start.
func addInserted(ctx context.Context, tx *sql.Tx, n int64) error {
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `WITH k AS (INSERT INTO counts (pending, sent, failed) VALUES ($1, 0, 0))
		INSERT INTO counts_undelivered (created_at, records) VALUES (now(), $1)`, n); err != nil {
		return fmt.Errorf("count %d new records: %w", n, err)
	}
	return nil
}

// FixCounts recounts the records when inserts that did not count
// themselves (by hand) left the counts stale, and returns whether it did.
// It is cheap when they did not: one small read.
func (d *DB) FixCounts(ctx context.Context) (bool, error) {
	var stale bool
	if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM counts_stale)`).Scan(&stale); err != nil {
		return false, fmt.Errorf("look for stale counts: %w", err)
	}
	if !stale {
		return false, nil
	}
	// A recount reads the whole table: rightly longer than a round trip.
	var marks int64
	err := d.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT goquiz_fix_counts($1)`, recountSQL).Scan(&marks)
	})
	if err != nil {
		return false, fmt.Errorf("recount after inserts by hand: %w", err)
	}
	return marks > 0, nil
}
