package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Rejections are what the store shows of the rejected records: the
// records the CRM refused for good (see deliver.Config.GiveUpOn).
type Rejections struct {
	// RejectedByStatus counts the rejected records by the CRM's status,
	// most frequent first.
	RejectedByStatus []StatusCount
	// LatestRejections are the latest rejected records, latest first.
	LatestRejections []Rejection
}

// StatusCount is the number of rejected records of one CRM status.
type StatusCount struct {
	// Status is the CRM's HTTP status, or 0 when the reason names none.
	Status  int
	Records int64
}

// Rejection is one rejected record.
type Rejection struct {
	ID int64
	// At is when it was rejected.
	At time.Time
	// Reason is the CRM's status and the start of its answer.
	Reason string
}

// maxLatestRejections is the number of latest rejected records Status
// returns.
const maxLatestRejections = 5

// statusOfReason extracts the CRM's status from a rejected record's
// reason ("status 400: …"), 0 when it names none.
const statusOfReason = `coalesce(substring(last_error from '^status ([0-9]{3})')::int, 0)`

// rejections reads the rejected records' counts by status and the latest
// of them, through the index of rejected records; nothing when there are
// none (rejected, as the counts say).
func rejections(ctx context.Context, tx *sql.Tx, rejected int64) (Rejections, error) {
	var r Rejections
	if rejected == 0 {
		return r, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+statusOfReason+` AS status, count(*) AS n
		FROM customers WHERE state = 'rejected'
		GROUP BY 1 ORDER BY n DESC, status`)
	if err != nil {
		return r, fmt.Errorf("count rejected records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c StatusCount
		if err := rows.Scan(&c.Status, &c.Records); err != nil {
			return r, fmt.Errorf("count rejected records: %w", err)
		}
		r.RejectedByStatus = append(r.RejectedByStatus, c)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("count rejected records: %w", err)
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT id, updated_at, coalesce(last_error, '')
		FROM customers WHERE state = 'rejected'
		ORDER BY updated_at DESC, id DESC LIMIT $1`, maxLatestRejections)
	if err != nil {
		return r, fmt.Errorf("read the latest rejected records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var j Rejection
		if err := rows.Scan(&j.ID, &j.At, &j.Reason); err != nil {
			return r, fmt.Errorf("read the latest rejected records: %w", err)
		}
		r.LatestRejections = append(r.LatestRejections, j)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("read the latest rejected records: %w", err)
	}
	return r, nil
}

// retryRejectedSQL puts the rejected records whose status is in $1 (all
// of them when $1 is NULL) back to pending, as RetryFailed does failed
// ones, and notifies $2 with their number, in one statement: one
// transaction, whose commit sends the notification.
const retryRejectedSQL = `
	WITH moved AS (
		UPDATE customers
		SET state = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
		WHERE state = 'rejected' AND ($1::int[] IS NULL OR ` + statusOfReason + ` = ANY($1::int[]))
		RETURNING 1
	), counted AS (
		SELECT count(*) AS n FROM moved
	)
	SELECT c.n FROM counted c LEFT JOIN LATERAL (SELECT pg_notify($2, c.n::text) WHERE c.n > 0) x ON true`

// RetryRejected puts the rejected records back to pending, due at once,
// with their attempts reset to zero: all of them when statuses is empty,
// else those the CRM refused with one of statuses. Their last error is
// kept until the next attempt. It notifies Channel so that running
// integrators start at once, and returns the number of records moved.
func (d *DB) RetryRejected(ctx context.Context, statuses []int) (int64, error) {
	var only pq.Int64Array // nil: NULL, every status
	for _, s := range statuses {
		only = append(only, int64(s))
	}
	var n int64
	if err := d.db.QueryRowContext(ctx, retryRejectedSQL, only, Channel).Scan(&n); err != nil {
		return 0, fmt.Errorf("retry rejected records: %w", err)
	}
	return n, nil
}
