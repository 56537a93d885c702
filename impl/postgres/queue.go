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
// common.Queue. Records it claims are leased under its owner name until
// settled, released, or the lease runs out without being extended.
type Queue struct {
	db    *DB
	owner string
	lease time.Duration

	mu     sync.Mutex
	settle *sql.Stmt // prepared on first use
}

// Queue returns a queue that claims under the name owner, which must be
// unique to the running integrator, for leases of the given length.
func (d *DB) Queue(owner string, lease time.Duration) *Queue {
	return &Queue{db: d, owner: owner, lease: lease}
}

// leaseMillis is the lease as a parameter for "* interval '1 millisecond'".
func (q *Queue) leaseMillis() int64 { return q.lease.Milliseconds() }

// Claim reserves up to limit due pending records, oldest due first, skipping
// rows another transaction has locked. A claimed record's next attempt moves
// to the end of its lease, which is how a lapsed lease makes it due again.
// Records this integrator already holds are not claimed again, even when
// their lease lapsed while the database was out of reach.
func (q *Queue) Claim(ctx context.Context, limit int) ([]common.Delivery, error) {
	tx, err := q.db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim batch: begin: %w", err)
	}
	defer tx.Rollback()
	// Walk the due index in order and stop after limit rows, whatever the
	// statistics say: a table being loaded has none yet, and the planner
	// then prefers to fetch and sort every pending row for each batch.
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off`); err != nil {
		return nil, fmt.Errorf("claim batch: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `
		WITH due AS (
			SELECT id FROM customers
			WHERE state = 'pending' AND next_attempt_at <= now()
			  AND leased_by IS DISTINCT FROM $1
			ORDER BY next_attempt_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE customers AS c
		SET leased_by = $1,
		    lease_until = now() + $3 * interval '1 millisecond',
		    next_attempt_at = now() + $3 * interval '1 millisecond',
		    updated_at = now()
		FROM due WHERE c.id = due.id
		RETURNING c.id, c.first_name, c.last_name, c.email, c.phone, c.attempts`,
		q.owner, limit, q.leaseMillis())
	if err != nil {
		return nil, fmt.Errorf("claim batch: %w", err)
	}
	defer rows.Close()
	var out []common.Delivery
	for rows.Next() {
		var d common.Delivery
		if err := rows.Scan(&d.ID, &d.FirstName, &d.LastName, &d.Email, &d.Phone, &d.Attempts); err != nil {
			return nil, fmt.Errorf("claim batch: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim batch: %w", err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("claim batch: commit: %w", err)
	}
	return out, nil
}

// settleSQL records a batch of outcomes in one statement: the ids in $1
// were delivered, and become sent whoever holds them now (they did reach
// the CRM); the failures in $2..$5 are scheduled for their retry, or
// become failed when given up, only while this integrator ($6) still holds
// them. Sent records, the common case, take the cheap path: one
// primary-key lookup and one update each.
const settleSQL = `
	WITH sent AS (
		UPDATE customers
		SET state = 'sent', sent_at = now(), leased_by = NULL, lease_until = NULL, updated_at = now()
		WHERE id = ANY($1::bigint[]) AND state = 'pending'
	)
	UPDATE customers AS c
	SET state = CASE WHEN r.give_up THEN 'failed' ELSE c.state END,
	    attempts = c.attempts + 1,
	    last_error = r.err,
	    next_attempt_at = now() + r.wait * interval '1 millisecond',
	    leased_by = NULL,
	    lease_until = NULL,
	    updated_at = now()
	FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::boolean[]) AS r(id, wait, err, give_up)
	WHERE c.id = r.id AND c.state = 'pending' AND c.leased_by = $6`

// Settle records outcomes in one statement, prepared once per connection:
// at full speed it runs hundreds of times a second, and parsing and
// planning it each time would cost as much as the updates themselves.
func (q *Queue) Settle(ctx context.Context, outcomes []common.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	var sent, failed pq.Int64Array
	var waits pq.Int64Array
	var errs pq.StringArray
	var giveUp pq.BoolArray
	for _, o := range outcomes {
		if o.Sent {
			sent = append(sent, o.ID)
			continue
		}
		failed = append(failed, o.ID)
		waits = append(waits, o.RetryIn.Milliseconds())
		errs = append(errs, cleanText(o.Err))
		giveUp = append(giveUp, o.GiveUp)
	}
	stmt, err := q.settleStmt(ctx)
	if err != nil {
		return fmt.Errorf("settle %d deliveries: %w", len(outcomes), err)
	}
	// A nil array is NULL, and no row matches id = ANY(NULL): that is
	// what an empty part needs.
	if _, err := stmt.ExecContext(ctx, sent, failed, waits, errs, giveUp, q.owner); err != nil {
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

// Extend renews the lease of the listed records this integrator still
// holds; those another integrator took over stay his.
func (q *Queue) Extend(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// Rows being settled at this moment are skipped, not waited for: the
	// settle and this renewal run on two connections and would otherwise
	// lock the same rows in different orders and deadlock; a row being
	// settled needs no renewal.
	_, err := q.db.db.ExecContext(ctx, `
		UPDATE customers
		SET lease_until = now() + $3 * interval '1 millisecond',
		    next_attempt_at = now() + $3 * interval '1 millisecond'
		WHERE id IN (
			SELECT id FROM customers
			WHERE id = ANY($1) AND leased_by = $2 AND state = 'pending'
			FOR UPDATE SKIP LOCKED
		)`,
		pq.Int64Array(ids), q.owner, q.leaseMillis())
	if err != nil {
		return fmt.Errorf("extend %d leases: %w", len(ids), err)
	}
	return nil
}

// Release gives back, due at once, every record leased by this integrator
// except those in keep.
func (q *Queue) Release(ctx context.Context, keep []int64) error {
	if keep == nil {
		keep = []int64{} // a nil array is NULL, and NOT (id = ANY(NULL)) is never true
	}
	_, err := q.db.db.ExecContext(ctx, `
		UPDATE customers
		SET leased_by = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now()
		WHERE leased_by = $1 AND state = 'pending' AND NOT (id = ANY($2))`,
		q.owner, pq.Int64Array(keep))
	if err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}

// NextDue returns how long until the earliest pending record not held by
// this integrator falls due, and false when there is none.
func (q *Queue) NextDue(ctx context.Context) (time.Duration, bool, error) {
	var ms sql.NullFloat64
	err := q.db.db.QueryRowContext(ctx, `
		SELECT extract(epoch FROM next_attempt_at - now()) * 1000
		FROM customers
		WHERE state = 'pending' AND leased_by IS DISTINCT FROM $1
		ORDER BY next_attempt_at
		LIMIT 1`, q.owner).Scan(&ms)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find next due record: %w", err)
	}
	return time.Duration(ms.Float64 * float64(time.Millisecond)), true, nil
}

// cleanText makes s storable as PostgreSQL text: valid UTF-8 without NUL.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}
