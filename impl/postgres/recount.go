package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Recounted is what a recount found: how many records it counted and how
// far the counts were off.
type Recounted struct {
	// Records is the number of records counted.
	Records int64
	// Pending, Sent, Failed and Rejected are the corrections made to the
	// counts of each state (the rows' count minus the counter's).
	Pending, Sent, Failed, Rejected int64
	// Stored, SentLately and Errors are the numbers of counts corrected
	// among the undelivered records by time stored, the records sent in
	// the last minute by time sent, and the undelivered records by last
	// error.
	Stored, SentLately, Errors int64
	// Newer is the correction made to the count of pending records with
	// a newer version.
	Newer int64
}

// Exact tells whether the counts were right.
func (r Recounted) Exact() bool {
	return r.Pending == 0 && r.Sent == 0 && r.Failed == 0 && r.Rejected == 0 && r.Stored == 0 && r.SentLately == 0 && r.Errors == 0 && r.Newer == 0
}

// recountSQL counts the records from the rows and corrects the counts by
// the difference, in one statement. Both are read in the statement's
// snapshot, and the differences are appended to the counts like any
// statement's, so changes committed meanwhile (counted by the triggers)
// stay counted: it is exact while parsers and integrators run, and makes
// none of them wait.
const recountSQL = `
	WITH truth AS MATERIALIZED (
		SELECT grouping(state, created_at, last_error, sent_at) AS set,
		       state, created_at, last_error, sent_at, count(*) AS records
		FROM (
			SELECT state,
			       CASE WHEN state IN ('pending', 'failed') THEN created_at END AS created_at,
			       CASE WHEN state IN ('pending', 'failed') AND last_error <> '' THEN last_error END AS last_error,
			       CASE WHEN state = 'sent' AND sent_at >= now() - interval '1 minute' THEN sent_at END AS sent_at
			FROM customers
		) c
		GROUP BY GROUPING SETS ((state), (created_at), (last_error), (sent_at))
	), states AS MATERIALIZED (
		SELECT coalesce(sum(t.records) FILTER (WHERE t.state = 'pending'), 0) - k.pending AS pending,
		       coalesce(sum(t.records) FILTER (WHERE t.state = 'sent'), 0) - k.sent AS sent,
		       coalesce(sum(t.records) FILTER (WHERE t.state = 'failed'), 0) - k.failed AS failed,
		       coalesce(sum(t.records) FILTER (WHERE t.state = 'rejected'), 0) - k.rejected AS rejected,
		       coalesce(sum(t.records), 0) AS records
		FROM (SELECT coalesce(sum(pending), 0) AS pending, coalesce(sum(sent), 0) AS sent,
		             coalesce(sum(failed), 0) AS failed, coalesce(sum(rejected), 0) AS rejected FROM counts) k
		LEFT JOIN truth t ON t.set = 7
		GROUP BY k.pending, k.sent, k.failed, k.rejected
	), stored AS MATERIALIZED (
		SELECT created_at, coalesce(t.records, 0) - coalesce(k.records, 0) AS records
		FROM (SELECT created_at, records FROM truth WHERE set = 11 AND created_at IS NOT NULL) t
		FULL JOIN (SELECT created_at, sum(records) AS records FROM counts_undelivered GROUP BY 1) k USING (created_at)
		WHERE coalesce(t.records, 0) <> coalesce(k.records, 0)
	), lately AS MATERIALIZED (
		SELECT sent_at, coalesce(t.records, 0) - coalesce(k.records, 0) AS records
		FROM (SELECT sent_at, records FROM truth WHERE set = 14 AND sent_at IS NOT NULL) t
		FULL JOIN (SELECT sent_at, sum(records) AS records FROM counts_sent
		           WHERE sent_at >= now() - interval '1 minute' GROUP BY 1) k USING (sent_at)
		WHERE coalesce(t.records, 0) <> coalesce(k.records, 0)
	), errors AS MATERIALIZED (
		SELECT last_error, coalesce(t.records, 0) - coalesce(k.records, 0) AS records
		FROM (SELECT last_error, records FROM truth WHERE set = 13 AND last_error IS NOT NULL) t
		FULL JOIN (SELECT error AS last_error, sum(records) AS records FROM counts_errors GROUP BY 1) k USING (last_error)
		WHERE coalesce(t.records, 0) <> coalesce(k.records, 0)
	), newer AS MATERIALIZED (
		SELECT (SELECT count(*) FROM customers WHERE state = 'pending' AND version > 1)
		     - (SELECT coalesce(sum(records), 0) FROM counts_newer) AS records
	), fix_newer AS (
		INSERT INTO counts_newer (records) SELECT records FROM newer WHERE records <> 0
	), fix_states AS (
		INSERT INTO counts (pending, sent, failed, rejected)
		SELECT pending, sent, failed, rejected FROM states WHERE (pending, sent, failed, rejected) <> (0, 0, 0, 0)
	), fix_stored AS (
		INSERT INTO counts_undelivered (created_at, records) SELECT created_at, records FROM stored
	), fix_lately AS (
		INSERT INTO counts_sent (sent_at, records) SELECT sent_at, records FROM lately
	), fix_errors AS (
		INSERT INTO counts_errors (error, records) SELECT last_error, records FROM errors
	)
	SELECT states.records::bigint, states.pending::bigint, states.sent::bigint, states.failed::bigint, states.rejected::bigint,
	       (SELECT count(*) FROM stored), (SELECT count(*) FROM lately), (SELECT count(*) FROM errors),
	       (SELECT records FROM newer)::bigint
	FROM states`

// queryer runs a query returning one row: a pool or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// recountColumns are the columns of recountSQL's row, for
// goquiz_recount's.
const recountColumns = `records bigint, pending bigint, sent bigint, failed bigint, rejected bigint,
	stored bigint, sent_lately bigint, errors bigint, newer bigint`

// recount runs recountSQL on q, through goquiz_recount when locked (the
// schema exists).
func recount(ctx context.Context, q queryer, locked bool) (Recounted, error) {
	query, args := recountSQL, []any(nil)
	if locked {
		query, args = `SELECT * FROM goquiz_recount($1) AS r(`+recountColumns+`)`, []any{recountSQL}
	}
	var r Recounted
	err := q.QueryRowContext(ctx, query, args...).Scan(&r.Records, &r.Pending, &r.Sent, &r.Failed, &r.Rejected, &r.Stored, &r.SentLately, &r.Errors, &r.Newer)
	if err != nil {
		return Recounted{}, fmt.Errorf("recount records: %w", err)
	}
	return r, nil
}

// Recount counts the records from the rows of the table and corrects the
// counts the status and the metrics show, for an operator who changed the
// table while its triggers were disabled (or a bug). It reads the whole
// table (a few seconds per ten million records), blocks no parser or
// integrator, and is exact while they run.
func (d *DB) Recount(ctx context.Context) (Recounted, error) {
	// Reading the whole table rightly takes longer than a round trip.
	var r Recounted
	err := d.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		r, err = recount(ctx, tx, true)
		return err
	})
	if err != nil {
		return Recounted{}, err
	}
	return r, d.FoldCounts(ctx)
}

// countLock is the advisory lock key under which the counts are folded,
// by one integrator at a time.
const countLock = 0x676f71756977 // "goquiw"

// foldCountsSQL folds the rows of each count into one and drops what counts
// nothing: counts of zero, and the records sent more than a minute ago,
// which can never count again. It deletes only committed rows, which no
// one else changes (statements only append), so it waits for no lock
// but its own and makes no statement wait.
var foldCountsSQL = []struct{ what, sql string }{
	{"fold the counts by state", `
	WITH moved AS (
		DELETE FROM counts WHERE (SELECT count(*) FROM counts) > 1
		RETURNING pending, sent, failed, rejected
	)
	INSERT INTO counts (pending, sent, failed, rejected)
	SELECT * FROM (SELECT sum(pending) AS pending, sum(sent) AS sent, sum(failed) AS failed, sum(rejected) AS rejected FROM moved) x
	WHERE (pending, sent, failed, rejected) <> (0, 0, 0, 0)`},
	{"fold the counts of newer versions", `
	WITH moved AS (
		DELETE FROM counts_newer WHERE (SELECT count(*) FROM counts_newer) > 1
		RETURNING records
	)
	INSERT INTO counts_newer (records) SELECT sum(records) FROM moved HAVING sum(records) <> 0`},
	{"fold the counts by time stored", foldSQL("counts_undelivered", "created_at")},
	{"fold the counts by error", foldSQL("counts_errors", "error")},
	{"drop old counts of sent records", `DELETE FROM counts_sent WHERE sent_at < now() - interval '2 minutes'`},
}

// foldSQL folds the rows of table that share a key (column key) into
// one, and drops the keys that count zero.
func foldSQL(table, key string) string {
	return fmt.Sprintf(`
	WITH folded AS (
		SELECT %[2]s FROM %[1]s GROUP BY 1 HAVING count(*) > 1 OR sum(records) = 0
	), moved AS (
		DELETE FROM %[1]s k USING folded f WHERE k.%[2]s = f.%[2]s
		RETURNING k.%[2]s, k.records
	)
	INSERT INTO %[1]s (%[2]s, records)
	SELECT %[2]s, sum(records) FROM moved GROUP BY 1 HAVING sum(records) <> 0`, table, key)
}

// FoldCounts folds the rows the triggers append to the counts, so that
// reading them costs the same however long delivery has run (see
// counts.go). One process at a time folds them; FoldCounts returns at once
// while another does. (Its errors and log lines say "tidy counts".)
func (d *DB) FoldCounts(ctx context.Context) error {
	if _, err := d.FixCounts(ctx); err != nil {
		return fmt.Errorf("tidy counts: %w", err)
	}
	tx, err := d.begin(ctx, d.db, nil)
	if err != nil {
		return fmt.Errorf("tidy counts: %w", err)
	}
	defer tx.Rollback()
	var mine bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(`+strconv.Itoa(countLock)+`)`).Scan(&mine); err != nil {
		return fmt.Errorf("tidy counts: take lock: %w", err)
	}
	if !mine {
		return nil
	}
	for _, s := range foldCountsSQL {
		if _, err := tx.ExecContext(ctx, s.sql); err != nil {
			return fmt.Errorf("tidy counts: %s: %w", s.what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tidy counts: commit: %w", err)
	}
	return nil
}

// foldCountsEvery is how often a store opened with Options.FoldCounts
// folds the counts (a variable for tests).
var foldCountsEvery = 10 * time.Second

// foldCountsLogged folds the counts, logging a failure; Open runs it
// every foldCountsEvery (Options.FoldCounts).
func (d *DB) foldCountsLogged() {
	if err := d.FoldCounts(d.done); err != nil && d.done.Err() == nil {
		d.log.Warn("could not tidy the record counts; trying again later", "error", err)
	}
}
