package postgres

import (
	"fmt"
	"strconv"
)

// The records are counted as they change, so that the status and the
// metrics read a few small rows instead of the customers table, and the
// counts stay exact whatever changes the table: the parser's COPY, the
// integrators' settles, retry-failed, or an operator's INSERT, UPDATE,
// DELETE or TRUNCATE by hand.
//
// After every statement that updates or deletes customers, a
// statement-level trigger reads the rows it changed (its transition
// tables: the old rows count -1, the new ones +1, so a row whose state did
// not change counts 0) and appends the differences, in the statement's
// own transaction, as new rows of
//
//   - counts: the records in each state (pending, sent, failed, rejected);
//   - counts_undelivered: the undelivered records (pending or failed) by
//     the exact time they were stored, so that the oldest is the first
//     time whose count is not zero (a chunk's rows share the time of its
//     transaction);
//   - counts_sent: the records sent at each time of the last minute;
//     older times are not counted, they can never count again;
//   - counts_errors: the undelivered records by last error;
//   - counts_newer: the pending records whose values are a version after
//     the first (a load in SYNC_MODE=upsert changed them).
//
// Inserts are not counted by a trigger: keeping a transition table of
// every row a COPY inserts made a load about 1.3 times slower. The parser
// counts the rows it inserts itself, in the chunk's transaction (see
// countInserted in countkept.go), and says so for the transaction; an
// INSERT that does not (by hand) leaves a mark, by a statement-level
// trigger that costs nothing per row, and the counts are recounted from
// the rows before the status is next read or the counts tidied.
//
// A rejected record is neither sent nor undelivered: it is done with,
// refused by the CRM for good, and its reason is its own (the start of the
// CRM's answer: one per record, often), shown apart by the status.
//
// A count is the sum of its rows. Rows are only ever inserted by the
// statements that change records, never updated, so that the settles of
// several integrators and the chunks of several parsers never wait for
// each other's counter rows (nor fail on them in a REPEATABLE READ
// transaction): each statement is a shard of its own. FoldCounts, run by the
// integrators, folds the rows of each count into one, so reading them
// costs the same however long delivery has run. TRUNCATE, which has no
// transition table, empties the counts.
//
// What depends on the clock is not counted: a pending record is in
// flight while a live claim lists it (read through the claims, a few
// thousand ids), and waiting for a retry while its next attempt is in the
// future (read through the due index from now on: the records that failed
// lately).

// countDelta appends the differences of a statement to the counts: %s is
// a query of the rows it changed (state, created_at, sent_at, last_error,
// whether its version is after the first) with n, +1 for a new row and -1
// for an old one. Rows are grouped first:
// a chunk of 10,000 new records is one group, a settle a few.
const countDelta = `
	WITH g AS MATERIALIZED (
		SELECT state, created_at, sent_at, last_error, newer, sum(n) AS n
		FROM (%s) d
		GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
	), newer AS (
		INSERT INTO counts_newer (records)
		SELECT sum(n) FROM g WHERE state = 'pending' AND newer
		HAVING sum(n) <> 0
	), states AS (
		INSERT INTO counts (pending, sent, failed, rejected)
		SELECT * FROM (
			SELECT coalesce(sum(n) FILTER (WHERE state = 'pending'), 0) AS pending,
			       coalesce(sum(n) FILTER (WHERE state = 'sent'), 0) AS sent,
			       coalesce(sum(n) FILTER (WHERE state = 'failed'), 0) AS failed,
			       coalesce(sum(n) FILTER (WHERE state = 'rejected'), 0) AS rejected
			FROM g
		) x
		WHERE (pending, sent, failed, rejected) <> (0, 0, 0, 0)
	), undelivered AS (
		INSERT INTO counts_undelivered (created_at, records)
		SELECT created_at, sum(n) FROM g
		WHERE state IN ('pending', 'failed')
		GROUP BY 1 HAVING sum(n) <> 0
	), sent AS (
		INSERT INTO counts_sent (sent_at, records)
		SELECT sent_at, sum(n) FROM g
		WHERE state = 'sent' AND sent_at >= now() - interval '1 minute'
		GROUP BY 1 HAVING sum(n) <> 0
	)
	INSERT INTO counts_errors (error, records)
	SELECT last_error, sum(n) FROM g
	WHERE state IN ('pending', 'failed') AND last_error <> ''
	GROUP BY 1 HAVING sum(n) <> 0`

// changedRows are the queries of the rows a statement changed, by the
// trigger event whose transition tables they read.
var changedRows = map[string]string{
	"update": `SELECT state, created_at, sent_at, last_error, version > 1 AS newer, 1 AS n FROM new_rows
		UNION ALL SELECT state, created_at, sent_at, last_error, version > 1, -1 FROM old_rows`,
	"delete": `SELECT state, created_at, sent_at, last_error, version > 1 AS newer, -1 AS n FROM old_rows`,
}

// transitionTables are the REFERENCING clauses of the counting triggers.
var transitionTables = map[string]string{
	"update": `OLD TABLE AS old_rows NEW TABLE AS new_rows`,
	"delete": `OLD TABLE AS old_rows`,
}

// countFunction returns the trigger function that counts the changes of
// one event.
func countFunction(event string) string {
	return fmt.Sprintf(`CREATE OR REPLACE FUNCTION goquiz_count_%s() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
BEGIN
	%s;
	RETURN NULL;
END $f$`, event, fmt.Sprintf(countDelta, changedRows[event]))
}

// countTrigger returns the statement that (re)creates the counting
// trigger of one event.
func countTrigger(event string) string {
	return fmt.Sprintf(`DROP TRIGGER IF EXISTS customers_count_%[1]s ON customers;
	CREATE TRIGGER customers_count_%[1]s AFTER %[2]s ON customers
	REFERENCING %[3]s FOR EACH STATEMENT EXECUTE FUNCTION goquiz_count_%[1]s()`,
		event, map[string]string{"update": "UPDATE", "delete": "DELETE"}[event], transitionTables[event])
}

// countTruncate empties the counts when the table is emptied. TRUNCATE
// waits for every transaction that changed customers, so none is adding
// to the counts; the lock of FoldCounts keeps it from folding meanwhile.
var countTruncate = `CREATE OR REPLACE FUNCTION goquiz_count_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
BEGIN
	PERFORM pg_advisory_xact_lock(` + strconv.Itoa(countLock) + `);
	DELETE FROM counts;
	DELETE FROM counts_undelivered;
	DELETE FROM counts_sent;
	DELETE FROM counts_errors;
	DELETE FROM counts_newer;
	DELETE FROM counts_stale;
	RETURN NULL;
END $f$`

// countTable returns the statement that creates a table of counts by
// the column key ("name type").
func countTable(name, key string) string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		%s NOT NULL,
		records bigint NOT NULL
	)`, name, key)
}

// countBacklog reads the backlog in one statement. The counts by state
// and by time stored are kept by the triggers; of the pending records,
// those in flight are found through the live claims (a few thousand ids,
// looked up by key in one index scan), and those waiting for a retry
// through the due index from now on (the records that failed lately).
// The function's settings keep the planner from reading the table
// instead, which it may prefer when its statistics are stale; being
// STABLE, it reads in the snapshot of the statement that calls it.
const countBacklog = `CREATE OR REPLACE FUNCTION goquiz_backlog()
RETURNS TABLE (pending bigint, sent bigint, failed bigint, in_flight bigint, waiting_retry bigint,
               oldest timestamptz, oldest_age_seconds double precision)
LANGUAGE sql STABLE
SET search_path FROM CURRENT SET enable_seqscan = off SET enable_hashjoin = off
SET enable_mergejoin = off SET jit = off AS $f$
	WITH live AS MATERIALIZED (
		SELECT DISTINCT unnest(ids) AS id FROM claims WHERE lease_until > now()
	), oldest AS (
		SELECT created_at FROM counts_undelivered
		GROUP BY created_at HAVING sum(records) > 0
		ORDER BY created_at LIMIT 1
	)
	SELECT coalesce(sum(pending), 0)::bigint, coalesce(sum(sent), 0)::bigint, coalesce(sum(failed), 0)::bigint,
	       (SELECT count(*) FROM customers c
	        WHERE c.id = ANY (ARRAY(SELECT id FROM live)) AND c.state = 'pending'),
	       (SELECT count(*) FROM customers c
	        WHERE c.state = 'pending' AND c.next_attempt_at > now() AND c.attempts > 0
	          AND c.id NOT IN (SELECT id FROM live)),
	       (SELECT created_at FROM oldest),
	       (SELECT extract(epoch FROM now() - created_at)::double precision FROM oldest)
	FROM counts
$f$`

// countSchema is the part of the schema that counts the records (see the
// comment at the top of this file), each object named by what it creates.
var countSchema = []schemaObject{
	{"counts", relation, `CREATE TABLE IF NOT EXISTS counts (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		pending bigint NOT NULL,
		sent    bigint NOT NULL,
		failed  bigint NOT NULL
	)`},
	{"counts.rejected", column, `ALTER TABLE counts ADD COLUMN IF NOT EXISTS rejected bigint NOT NULL DEFAULT 0`},
	{"counts_undelivered", relation, countTable("counts_undelivered", "created_at timestamptz")},
	{"counts_undelivered_created_at", relation, `CREATE INDEX IF NOT EXISTS counts_undelivered_created_at ON counts_undelivered (created_at)`},
	{"counts_sent", relation, countTable("counts_sent", "sent_at timestamptz")},
	{"counts_sent_sent_at", relation, `CREATE INDEX IF NOT EXISTS counts_sent_sent_at ON counts_sent (sent_at)`},
	{"counts_errors", relation, countTable("counts_errors", "error text")},
	{"goquiz_backlog", function, countBacklog},
	{"counts_newer", relation, `CREATE TABLE IF NOT EXISTS counts_newer (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		records bigint NOT NULL
	)`},
	{"counts_stale", relation, `CREATE TABLE IF NOT EXISTS counts_stale (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at timestamptz NOT NULL DEFAULT now()
	)`},
	{"goquiz_count_update", function, countFunction("update")},
	{"goquiz_count_delete", function, countFunction("delete")},
	{"goquiz_count_truncate", function, countTruncate},
	{"customers_count_insert", absentTrigger, `DROP TRIGGER IF EXISTS customers_count_insert ON customers;
	DROP FUNCTION IF EXISTS goquiz_count_insert()`},
	{"goquiz_insert_uncounted", function, insertUncounted},
	{"customers_insert_uncounted", trigger, `DROP TRIGGER IF EXISTS customers_insert_uncounted ON customers;
	CREATE TRIGGER customers_insert_uncounted AFTER INSERT ON customers
	FOR EACH STATEMENT EXECUTE FUNCTION goquiz_insert_uncounted()`},
	{"goquiz_fix_counts", function, fixCounts},
	{"goquiz_recount", function, recountLocked},
	{"customers_count_update", trigger, countTrigger("update")},
	{"customers_count_delete", trigger, countTrigger("delete")},
	{"customers_count_truncate", trigger, `DROP TRIGGER IF EXISTS customers_count_truncate ON customers;
	CREATE TRIGGER customers_count_truncate AFTER TRUNCATE ON customers
	FOR EACH STATEMENT EXECUTE FUNCTION goquiz_count_truncate()`},
}
