package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// Queue is one integrator's view of the records to deliver; it implements
// common.Queue.
//
// A claim leases a batch of records to this integrator without writing to
// them: it adds one row to the claims table, listing their ids, under the
// integrator's name and a lease. Records listed in a claim are not claimed
// again until the claim is gone: ended by its owner once every record in
// it is settled or given back, or, after its lease ran out, by the next
// integrator that claims. So a delivered record is written once, when it
// is settled, and a claim costs one index scan and one small insert.
//
// The Queue keeps no record of what it handed out: the Deliverer owns its
// claims. What it keeps is the prepared settle statement and where the
// next claim starts (see Claim).
type Queue struct {
	db    *DB
	owner string
	setup string // claimSetup for owner

	mu     sync.Mutex
	settle *sql.Stmt // prepared on first use

	scanStart       string // due time where the next claim starts ("": the oldest)
	claimsSinceFull int    // claims since one started from the oldest
}

// Queue returns a queue that claims under the name owner, which must be
// unique to the running integrator.
func (d *DB) Queue(owner string) *Queue {
	return &Queue{db: d, owner: owner, setup: fmt.Sprintf(claimSetup, pq.QuoteLiteral(owner))}
}

// millis is a lease as a parameter for "* interval '1 millisecond'".
func millis(d time.Duration) int64 { return d.Milliseconds() }

// claimLock is the advisory lock key under which claims are made, one at a
// time across all integrators, so that each sees the claims before it.
const claimLock = 0x676f71756979 // "goquiy"

// claimSetup forces the claim's plan (see Claim), takes claimLock, and
// deletes the claims of other integrators (the owner, a literal, is %s)
// whose lease ran out. It has no parameters, so that it goes as one
// simple query: one round trip, whose result is the DELETE's.
var claimSetup = `SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off;
	SET LOCAL enable_seqscan = off; SET LOCAL jit = off;
	SELECT pg_advisory_xact_lock(` + strconv.Itoa(claimLock) + `);
	DELETE FROM claims WHERE lease_until <= now() AND owner <> %s`

// claimSQL picks up to $2 due pending records listed in no claim, oldest
// due first and due no earlier than $4, and records them as one claim of
// owner $1 for a lease of $3 milliseconds. It returns the claim's id with
// each record, and its due time as text (parsing a timestamp for every
// record would cost more than the claim; only the first one is used, and
// it goes back to PostgreSQL as it came).
const claimSQL = `
	WITH picked AS (
		SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.attempts, c.next_attempt_at::text
		FROM customers c
		WHERE c.state = 'pending' AND c.next_attempt_at <= now() AND c.next_attempt_at >= $4::timestamptz
		  AND c.id NOT IN (SELECT unnest(ids) FROM claims)
		ORDER BY c.next_attempt_at
		LIMIT $2
	), claim AS (
		INSERT INTO claims (owner, lease_until, ids)
		SELECT $1, now() + $3 * interval '1 millisecond', array_agg(id) FROM picked
		HAVING count(*) > 0
		RETURNING id
	)
	SELECT (SELECT id FROM claim), p.* FROM picked p`

// fullScanEvery is how often a claim starts from the oldest due record
// rather than from where the previous claim started.
const fullScanEvery = 10

// Claim reserves up to limit due pending records, oldest due first. Claims
// are made one at a time under an advisory lock; each first deletes the
// claims of other integrators whose lease ran out, which makes their
// records claimable again. This integrator's own lapsed claims stay until
// it settles or releases them: it is still working on those records.
//
// A claim starts its walk of the due index where the previous one started
// (the due time of the first record it got), not at the oldest pending
// record: settled records leave dead entries at the front of the index
// until VACUUM, and walking over all of them on every claim would slow
// delivery down as records are sent (measured over a 1M run: claims went
// from 3 to 5 ms, and the rate of the last tenth fell below 0.9 of the
// first; with the walk starting where the last one did, the last tenth
// runs at the first's rate). Records due before that point appear
// only when a claim is taken over or released (new and retried records
// are due later), so every tenth claim, a claim that took over lapsed
// claims, and the claim after one that found fewer records than it asked
// for start from the oldest.
func (q *Queue) Claim(ctx context.Context, limit int, lease time.Duration) (common.Claim, error) {
	start := time.Now()
	tx, err := q.db.db.BeginTx(ctx, nil)
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: begin: %w", err)
	}
	defer tx.Rollback()
	// Walk the due index in order and stop after limit rows, whatever the
	// statistics say: a table being loaded has none yet, and the planner
	// then prefers to fetch and sort every pending row for each batch.
	// The switches make other plans look very costly; JIT compiling such a
	// plan would take longer than running it. Then take the claim lock
	// and take over the lapsed claims of others: one round trip for all,
	// and one less while every other integrator's claim waits for the
	// lock.
	res, err := tx.ExecContext(ctx, q.setup)
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: take lock and lapsed claims: %w", err)
	}
	tookOver, err := res.RowsAffected()
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: take over lapsed claims: %w", err)
	}
	rows, err := tx.QueryContext(ctx, claimSQL, q.owner, limit, millis(lease), q.scanFrom(tookOver > 0))
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: %w", err)
	}
	defer rows.Close()
	c := common.Claim{Expires: start.Add(lease)}
	var first, due string
	for rows.Next() {
		var d common.Delivery
		if err := rows.Scan(&c.ID, &d.ID, &d.FirstName, &d.LastName, &d.Email, &d.Phone, &d.Attempts, &due); err != nil {
			return common.Claim{}, fmt.Errorf("claim batch: %w", err)
		}
		if len(c.Deliveries) == 0 {
			first = due
		}
		c.Deliveries = append(c.Deliveries, d)
	}
	if err := rows.Err(); err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: %w", err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: commit: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(c.Deliveries) < limit {
		q.scanStart = "" // start from the oldest next time
	} else {
		q.scanStart = first
	}
	return c, nil
}

// scanFrom returns the earliest due time the next claim looks at: where
// the previous claim started, or the beginning of time when this claim
// must look at every due record (see Claim).
func (q *Queue) scanFrom(tookOver bool) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimsSinceFull++
	if tookOver || q.scanStart == "" || q.claimsSinceFull >= fullScanEvery {
		q.claimsSinceFull = 0
		return beginning
	}
	return q.scanStart
}

// beginning is a due time before every record's.
const beginning = "-infinity"

// settleSQL records a batch of outcomes in one statement: the ids in $1
// were delivered, and become sent whoever holds them now (they did reach
// the CRM); the failures in $2..$6 and $9 are scheduled for their retry,
// or become failed when given up, or rejected when the CRM refused them
// for good ($9), only while the claim they came in ($6) is still this
// integrator's ($7) and lists them; the claims in $8, whose every record
// now has an outcome, end. Sent records, the common case,
// cost one primary-key lookup and one update each.
const settleSQL = `
	WITH sent AS (
		UPDATE customers
		SET state = 'sent', sent_at = now(), updated_at = now()
		WHERE id = ANY($1::bigint[]) AND state = 'pending'
	), failed AS (
		UPDATE customers AS c
		SET state = CASE WHEN r.reject THEN 'rejected' WHEN r.give_up THEN 'failed' ELSE c.state END,
		    attempts = c.attempts + 1,
		    last_error = r.err,
		    next_attempt_at = now() + r.wait * interval '1 millisecond',
		    updated_at = now()
		FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::boolean[], $6::bigint[], $9::boolean[])
			AS r(id, wait, err, give_up, claim, reject)
		WHERE c.id = r.id AND c.state = 'pending'
		  AND EXISTS (SELECT 1 FROM claims k WHERE k.id = r.claim AND k.owner = $7 AND r.id = ANY(k.ids))
	)
	DELETE FROM claims WHERE id = ANY($8::bigint[]) AND owner = $7`

// Settle records outcomes and ends the finished claims in one statement,
// prepared once per connection: at full speed it runs hundreds of times a
// second, and parsing and planning it each time would cost as much as the
// updates themselves (about 135 µs per call, measured when it was made
// prepared; the statement itself runs in about 1 ms per 100 outcomes).
func (q *Queue) Settle(ctx context.Context, outcomes []common.Outcome, finished []int64) error {
	if len(outcomes) == 0 && len(finished) == 0 {
		return nil
	}
	var sent, failed, waits, claims pq.Int64Array
	var errs pq.StringArray
	var giveUp, reject pq.BoolArray
	for _, o := range outcomes {
		if o.Sent {
			sent = append(sent, o.ID)
			continue
		}
		failed = append(failed, o.ID)
		waits = append(waits, o.RetryIn.Milliseconds())
		errs = append(errs, cleanText(o.Err))
		giveUp = append(giveUp, o.GiveUp)
		reject = append(reject, o.Reject)
		claims = append(claims, o.Claim)
	}
	stmt, err := q.settleStmt(ctx)
	if err != nil {
		return fmt.Errorf("settle %d deliveries: %w", len(outcomes), err)
	}
	// A nil array is NULL, and no row matches id = ANY(NULL): that is
	// what an empty part needs.
	if _, err := stmt.ExecContext(ctx, sent, failed, waits, errs, giveUp, claims, q.owner, pq.Int64Array(finished), reject); err != nil {
		return fmt.Errorf("settle %d deliveries: %w", len(outcomes), err)
	}
	return nil
}

// settleStmt returns the prepared settle statement, preparing it on first
// use; a failed preparation is tried again on the next call.
func (q *Queue) settleStmt(ctx context.Context) (*sql.Stmt, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.settle != nil {
		return q.settle, nil
	}
	stmt, err := q.db.db.PrepareContext(ctx, settleSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	q.settle = stmt
	return stmt, nil
}

// Close frees the queue's prepared statements.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.settle == nil {
		return nil
	}
	err := q.settle.Close()
	q.settle = nil
	return err
}

// Extend renews the leases of the listed claims that are still this
// integrator's and returns their ids: a claim another integrator took
// over after its lease ran out is gone, and stays gone. Claims being
// ended by a settle at this moment are skipped, not waited for.
func (q *Queue) Extend(ctx context.Context, claims []int64, lease time.Duration) ([]int64, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	rows, err := q.db.db.QueryContext(ctx, `
		UPDATE claims
		SET lease_until = now() + $3 * interval '1 millisecond'
		WHERE id IN (
			SELECT id FROM claims WHERE id = ANY($1) AND owner = $2
			FOR UPDATE SKIP LOCKED
		)
		RETURNING id`,
		pq.Int64Array(claims), q.owner, millis(lease))
	if err != nil {
		return nil, fmt.Errorf("extend %d leases: %w", len(claims), err)
	}
	defer rows.Close()
	renewed := make([]int64, 0, len(claims))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("extend %d leases: %w", len(claims), err)
		}
		renewed = append(renewed, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("extend %d leases: %w", len(claims), err)
	}
	return renewed, nil
}

// Release gives back, claimable at once, the records of the listed claims
// of this integrator except those in keep: the claims left with no record
// of keep end, the others shrink to their records in keep.
func (q *Queue) Release(ctx context.Context, claims []int64, keep []int64) error {
	if len(claims) == 0 {
		return nil
	}
	if keep == nil {
		keep = []int64{} // a nil array is NULL, and unnest(NULL) has no rows
	}
	_, err := q.db.db.ExecContext(ctx, `
		WITH mine AS (
			SELECT k.id, k.ids AS before,
			       array(SELECT unnest(k.ids) INTERSECT SELECT unnest($3::bigint[])) AS kept
			FROM claims k WHERE k.id = ANY($1) AND k.owner = $2
		), emptied AS (
			DELETE FROM claims k USING mine m
			WHERE k.id = m.id AND cardinality(m.kept) = 0
		)
		UPDATE claims k SET ids = m.kept
		FROM mine m
		WHERE k.id = m.id AND cardinality(m.kept) > 0 AND cardinality(m.kept) < cardinality(m.before)`,
		pq.Int64Array(claims), q.owner, pq.Int64Array(keep))
	if err != nil {
		return fmt.Errorf("release %d claims: %w", len(claims), err)
	}
	return nil
}

// Sweep ends the claims of this integrator that are not in held: claims
// whose answer was lost (the connection died after their commit), which
// it never learnt of.
func (q *Queue) Sweep(ctx context.Context, held []int64) error {
	if held == nil {
		held = []int64{} // NOT (id = ANY(NULL)) is NULL, not true
	}
	if _, err := q.db.db.ExecContext(ctx, `DELETE FROM claims WHERE owner = $1 AND NOT (id = ANY($2))`,
		q.owner, pq.Int64Array(held)); err != nil {
		return fmt.Errorf("sweep lost claims: %w", err)
	}
	return nil
}

// NextDue returns how long until a record this integrator could claim
// falls due: the earliest pending record listed in no claim, or the end
// of the earliest lease of another integrator's claim; false when there
// is neither.
func (q *Queue) NextDue(ctx context.Context) (time.Duration, bool, error) {
	var ms sql.NullFloat64
	err := q.db.db.QueryRowContext(ctx, `
		SELECT extract(epoch FROM least(
			(SELECT next_attempt_at FROM customers
			 WHERE state = 'pending' AND id NOT IN (SELECT unnest(ids) FROM claims)
			 ORDER BY next_attempt_at LIMIT 1),
			(SELECT min(lease_until) FROM claims WHERE owner <> $1)
		) - now()) * 1000`, q.owner).Scan(&ms)
	if err != nil {
		return 0, false, fmt.Errorf("find next due record: %w", err)
	}
	if !ms.Valid {
		return 0, false, nil
	}
	return time.Duration(ms.Float64 * float64(time.Millisecond)), true, nil
}

// cleanText makes s storable as PostgreSQL text: valid UTF-8 without NUL.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}
