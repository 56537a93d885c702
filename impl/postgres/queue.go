package postgres

import (
	"context"
	"database/sql"
	"fmt"
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
// Claiming and settling are one statement each, sent in one round trip
// and committed by the server before it answers: no lock they take
// outlives the statement, so an integrator that stops answering in the
// middle of one (frozen, cut off) holds nothing another waits for, and
// they need nothing of a session that a transaction-pooling proxy would
// not keep. Both run server-side functions (goquiz_claim_versions,
// goquiz_settle_rejects),
// whose plans the server keeps per connection, as a prepared statement
// would, without one.
//
// The Queue keeps no record of what it handed out: the Deliverer owns its
// claims. What it keeps is where the next claim starts (see Claim).
type Queue struct {
	db    *DB
	owner string

	mu              sync.Mutex
	scanStart       string // due time where the next claim starts ("": the oldest)
	claimsSinceFull int    // claims since one started from the oldest
}

// Queue returns a queue that claims under the name owner, which must be
// unique to the running integrator.
func (d *DB) Queue(owner string) *Queue {
	return &Queue{db: d, owner: owner}
}

// millis is a lease as a parameter for "* interval '1 millisecond'".
func millis(d time.Duration) int64 { return d.Milliseconds() }

// claimFunction is goquiz_claim_versions(owner, limit, lease in
// milliseconds, due from): it claims up to limit due pending records listed
// in no claim, oldest due first and due no earlier than due from, as one
// claim of owner, and returns the claim's id with each record (its newest
// version) and its due time as text (parsing a timestamp for every record
// would cost more than the claim; only the first one is used, and it goes
// back to PostgreSQL as it came). Before it picks records, it ends the claims of other
// integrators whose lease ran out (and then looks from the oldest due
// record on): their records are claimable again.
//
// Claims are made at once by any number of integrators, none waiting for
// another: each locks the records it picks (FOR NO KEY UPDATE SKIP
// LOCKED: records another claim is picking are passed over, not waited
// for), then, in a new statement and so a new snapshot, drops those that
// a claim committed meanwhile lists (a claim that had them locked, and
// committed after this one's first snapshot was taken), and inserts its
// claim. Every lock is released when the calling statement commits: a
// record claimed twice would have been locked by both claims at once, or
// the second's new snapshot would see the first's claim.
//
// Claims share the claim lock with one another. Integrators of an older
// version claim under it alone, across round trips, and do not lock the
// records they pick: sharing it, the claims of the two versions exclude
// each other while both run (during a rolling upgrade), and never wait
// for each other once the older ones are gone.
//
// The settings walk the due index in order and stop after limit rows,
// whatever the statistics say: a table being loaded has none yet, and
// the planner then prefers to fetch and sort every pending row for each
// batch. They make other plans look very costly; JIT compiling such a
// plan would take longer than running it.
const claimFunction = `CREATE OR REPLACE FUNCTION goquiz_claim_versions(claimer text, wanted integer, lease_ms bigint, due_from timestamptz)
RETURNS TABLE (claim bigint, id bigint, first_name text, last_name text, email text, phone text, version integer, attempts integer, due text)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT SET enable_sort = off SET enable_bitmapscan = off
SET enable_seqscan = off SET jit = off AS $f$
#variable_conflict use_column
DECLARE
	took_over bigint;
	picked bigint[]; firsts text[]; lasts text[]; emails text[]; phones text[]; vers integer[]; tries integer[]; dues text[];
	kept bigint[];
	made bigint;
BEGIN
	PERFORM pg_advisory_xact_lock_shared(` + claimLock + `);
	DELETE FROM claims k WHERE k.id IN (
		SELECT l.id FROM claims l WHERE l.lease_until <= now() AND l.owner <> claimer
		FOR UPDATE SKIP LOCKED);
	GET DIAGNOSTICS took_over = ROW_COUNT;
	IF took_over > 0 THEN
		due_from := '-infinity';
	END IF;
	SELECT array_agg(p.id), array_agg(p.first_name), array_agg(p.last_name), array_agg(p.email),
	       array_agg(p.phone), array_agg(p.version), array_agg(p.attempts), array_agg(p.due)
	INTO picked, firsts, lasts, emails, phones, vers, tries, dues
	FROM (
		SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.version, c.attempts, c.next_attempt_at::text AS due
		FROM customers c
		WHERE c.state = 'pending' AND c.next_attempt_at <= now() AND c.next_attempt_at >= due_from
		  AND c.id NOT IN (SELECT unnest(k.ids) FROM claims k)
		ORDER BY c.next_attempt_at
		LIMIT wanted
		FOR NO KEY UPDATE OF c SKIP LOCKED
	) p;
	IF picked IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO claims (owner, lease_until, ids)
	SELECT claimer, now() + lease_ms * interval '1 millisecond', array_agg(x.id)
	FROM unnest(picked) AS x(id)
	WHERE x.id NOT IN (SELECT unnest(k.ids) FROM claims k)
	HAVING count(*) > 0
	RETURNING claims.id, claims.ids INTO made, kept;
	IF made IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT made, r.id, r.first_name, r.last_name, r.email, r.phone, r.version, r.attempts, r.due
	FROM unnest(picked, firsts, lasts, emails, phones, vers, tries, dues)
	     AS r(id, first_name, last_name, email, phone, version, attempts, due)
	WHERE cardinality(kept) = cardinality(picked) OR r.id = ANY(kept);
END $f$`

// claimLock is the key of the advisory lock every claim shares (see
// claimFunction); older versions took it alone.
const claimLock = "x'676f71756979'::bigint" // "goquiy"

// fullScanEvery is how often a claim starts from the oldest due record
// rather than from where the previous claim started.
const fullScanEvery = 10

// Claim reserves up to limit due pending records, oldest due first (see
// claimFunction), in one statement. Each claim first deletes the claims of
// other integrators whose lease ran out, which makes their records
// claimable again. This integrator's own lapsed claims stay until it
// settles or releases them: it is still working on those records.
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
	rows, err := q.db.db.QueryContext(ctx, `SELECT * FROM goquiz_claim_versions($1, $2, $3, $4)`,
		q.owner, limit, millis(lease), q.scanFrom())
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: %w", err)
	}
	defer rows.Close()
	c := common.Claim{Expires: start.Add(lease)}
	var first, due string
	for rows.Next() {
		var d common.ClaimedRecord
		if err := rows.Scan(&c.ID, &d.ID, &d.FirstName, &d.LastName, &d.Email, &d.Phone, &d.Version, &d.Attempts, &due); err != nil {
			return common.Claim{}, fmt.Errorf("claim batch: %w", err)
		}
		if len(c.Records) == 0 {
			first = due
		}
		c.Records = append(c.Records, d)
	}
	if err := rows.Err(); err != nil {
		return common.Claim{}, fmt.Errorf("claim batch: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(c.Records) < limit {
		q.scanStart = "" // start from the oldest next time
	} else {
		q.scanStart = first
	}
	return c, nil
}

// scanFrom returns the earliest due time the next claim looks at: where
// the previous claim started, or the beginning of time when this claim
// must look at every due record (see Claim).
func (q *Queue) scanFrom() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimsSinceFull++
	if q.scanStart == "" || q.claimsSinceFull >= fullScanEvery {
		q.claimsSinceFull = 0
		return beginning
	}
	return q.scanStart
}

// beginning is a due time before every record's.
const beginning = "-infinity"

// Close frees what the queue holds: nothing since it prepares no
// statement; it stays for common.Queue's users that close it.
func (q *Queue) Close() error { return nil }

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
