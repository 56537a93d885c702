package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"goquiz/common"
)

// Status is what the store shows of delivery, for a person: the backlog,
// the most frequent last errors of undelivered records and the recent
// throughput. It is read from the database alone, so it is the same
// whether or not integrators run.
type Status struct {
	common.Backlog
	// OldestCreatedAt is when the oldest undelivered record was stored
	// (zero when there is none).
	OldestCreatedAt time.Time
	// LastErrors are the most frequent last errors of undelivered
	// records, most frequent first.
	LastErrors []common.ErrorCount
	// SentLastMinute counts the records sent in the last minute.
	SentLastMinute int64
	// PausedUntil is when the CRM's quota is renewed, while an integrator
	// waits for it to send anything (zero when none does), and PausedBy
	// the integrator that noted it.
	PausedUntil time.Time
	PausedBy    string
	// Rejections are the rejected records' counts by the CRM's status
	// and their latest reasons.
	Rejections
}

// maxLastErrors is the number of distinct errors Status returns.
const maxLastErrors = 5

// Status reads the delivery status in one consistent snapshot. Its cost
// does not grow with the table: the counts are kept as records change (see
// counts.go), and what depends on the clock is read from the claims and
// from the records waiting for a retry. Counts that inserts by hand left
// stale are recounted first (see FixCounts).
func (d *DB) Status(ctx context.Context) (Status, error) {
	var st Status
	if _, err := d.FixCounts(ctx); err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	tx, err := d.begin(ctx, d.db, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	defer tx.Rollback()
	if st.Backlog, st.OldestCreatedAt, err = backlog(ctx, tx); err != nil {
		return st, err
	}
	if st.LastErrors, err = lastErrors(ctx, tx, maxLastErrors); err != nil {
		return st, err
	}
	if st.Rejections, err = rejections(ctx, tx, st.Backlog.Rejected); err != nil {
		return st, err
	}
	if err := tx.QueryRowContext(ctx, `
		SELECT coalesce(sum(records), 0) FROM counts_sent
		WHERE sent_at > now() - interval '1 minute'`).Scan(&st.SentLastMinute); err != nil {
		return st, fmt.Errorf("count records sent in the last minute: %w", err)
	}
	if st.PausedUntil, st.PausedBy, err = quotaPause(ctx, tx); err != nil {
		return st, err
	}
	return st, nil
}

// Backlog counts the records by delivery state and finds the age of the
// oldest undelivered one, in one statement (one snapshot, one round
// trip) that costs the same on any table size. It implements the store
// side of goquiz's backlog metrics.
func (d *DB) Backlog(ctx context.Context) (common.Backlog, error) {
	b, _, err := backlog(ctx, d.db)
	return b, err
}

// backlog counts the records by state (see goquiz_backlog in counts.go).
// A pending record is in flight while a live claim lists it, waiting for
// a retry when it failed before and is not due yet, and plain pending
// otherwise (never tried, due, or listed only in a claim whose lease ran
// out).
func backlog(ctx context.Context, q queryer) (common.Backlog, time.Time, error) {
	var (
		b      common.Backlog
		all    int64
		oldest sql.NullTime
		ageSec sql.NullFloat64
	)
	err := q.QueryRowContext(ctx, `SELECT b.*, (SELECT coalesce(sum(records), 0) FROM counts_newer), (SELECT coalesce(sum(rejected), 0) FROM counts) FROM goquiz_backlog() b`).
		Scan(&all, &b.Sent, &b.Failed, &b.InFlight, &b.WaitingRetry, &oldest, &ageSec, &b.NewerVersion, &b.Rejected)
	if err != nil {
		return b, time.Time{}, fmt.Errorf("count records: %w", err)
	}
	b.Pending = all - b.InFlight - b.WaitingRetry
	if ageSec.Valid {
		b.OldestUndelivered = max(0, time.Duration(ageSec.Float64*float64(time.Second)))
	}
	return b, oldest.Time, nil
}

// lastErrors returns the limit most frequent last errors of undelivered
// records.
func lastErrors(ctx context.Context, tx *sql.Tx, limit int) ([]common.ErrorCount, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT error, sum(records) AS n FROM counts_errors
		GROUP BY error HAVING sum(records) > 0
		ORDER BY n DESC, error
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("count last errors: %w", err)
	}
	defer rows.Close()
	var out []common.ErrorCount
	for rows.Next() {
		var e common.ErrorCount
		if err := rows.Scan(&e.Error, &e.Records); err != nil {
			return nil, fmt.Errorf("count last errors: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count last errors: %w", err)
	}
	return out, nil
}

// RetryFailed puts every failed record back to pending, due at once, with
// its attempts reset to zero so that it gets MaxAttempts new attempts and
// its backoff starts over; its last error is kept until the next attempt.
// It notifies Channel so that running integrators start at once, and
// returns the number of records moved.
func (d *DB) RetryFailed(ctx context.Context) (int64, error) {
	tx, err := d.begin(ctx, d.db, nil)
	if err != nil {
		return 0, fmt.Errorf("retry failed records: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE customers
		SET state = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
		WHERE state = 'failed'`)
	if err != nil {
		return 0, fmt.Errorf("retry failed records: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("retry failed records: %w", err)
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, strconv.FormatInt(n, 10)); err != nil {
			return 0, fmt.Errorf("retry failed records: notify: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("retry failed records: commit: %w", err)
	}
	return n, nil
}
