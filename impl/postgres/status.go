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
}

// maxLastErrors is the number of distinct errors Status returns.
const maxLastErrors = 5

// snapshot is the transaction of the status reads: one consistent view.
var snapshot = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// Status reads the delivery status in one consistent snapshot. Its counts
// may take longer than a round trip on a large table: they are not cut
// by the round-trip timeout while the server works on them (see long).
func (d *DB) Status(ctx context.Context) (Status, error) {
	var st Status
	err := d.long(ctx, snapshot, func(tx *sql.Tx) error {
		var err error
		if st.Backlog, st.OldestCreatedAt, err = backlog(ctx, tx); err != nil {
			return err
		}
		if st.LastErrors, err = lastErrors(ctx, tx, maxLastErrors); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM customers
			WHERE state = 'sent' AND sent_at > now() - interval '1 minute'`).Scan(&st.SentLastMinute); err != nil {
			return fmt.Errorf("count records sent in the last minute: %w", err)
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("read status: %w", err)
	}
	return st, nil
}

// Backlog counts the records by delivery state and finds the age of the
// oldest undelivered one, as Status does. It implements the store side of
// goquiz's backlog metrics.
func (d *DB) Backlog(ctx context.Context) (common.Backlog, error) {
	var b common.Backlog
	err := d.long(ctx, snapshot, func(tx *sql.Tx) error {
		var err error
		b, _, err = backlog(ctx, tx)
		return err
	})
	if err != nil {
		return common.Backlog{}, fmt.Errorf("read backlog: %w", err)
	}
	return b, nil
}

// undelivered is a WITH clause naming the pending and failed records,
// each with whether a live claim lists it. It reads them as two parts so
// that each is found through its partial index (customers_due,
// customers_failed) rather than by scanning the sent ones, which are most
// of the table.
const undelivered = `
	WITH undelivered AS (
		SELECT state, attempts, next_attempt_at, last_error, created_at,
		       id IN (SELECT unnest(ids) FROM claims WHERE lease_until > now()) AS claimed
		FROM customers WHERE state = 'pending'
		UNION ALL
		SELECT state, attempts, next_attempt_at, last_error, created_at, false
		FROM customers WHERE state = 'failed'
	)`

// backlog counts the records by state. A pending record is in flight while
// a live claim lists it, waiting for a retry when it failed before and is
// not due yet, and plain pending otherwise (never tried, due, or listed
// only in a claim whose lease ran out).
func backlog(ctx context.Context, tx *sql.Tx) (common.Backlog, time.Time, error) {
	var (
		b      common.Backlog
		all    int64
		oldest sql.NullTime
		ageSec sql.NullFloat64
	)
	err := tx.QueryRowContext(ctx, undelivered+`
		SELECT count(*) FILTER (WHERE state = 'pending'),
		       count(*) FILTER (WHERE state = 'pending' AND claimed),
		       count(*) FILTER (WHERE state = 'pending' AND NOT claimed
		                          AND next_attempt_at > now() AND attempts > 0),
		       count(*) FILTER (WHERE state = 'failed'),
		       min(created_at),
		       extract(epoch FROM now() - min(created_at))
		FROM undelivered`).Scan(&all, &b.InFlight, &b.WaitingRetry, &b.Failed, &oldest, &ageSec)
	if err != nil {
		return b, time.Time{}, fmt.Errorf("count undelivered records: %w", err)
	}
	b.Pending = all - b.InFlight - b.WaitingRetry
	if ageSec.Valid {
		b.OldestUndelivered = max(0, time.Duration(ageSec.Float64*float64(time.Second)))
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM customers WHERE state = 'sent'`).Scan(&b.Sent); err != nil {
		return b, time.Time{}, fmt.Errorf("count sent records: %w", err)
	}
	return b, oldest.Time, nil
}

// lastErrors returns the limit most frequent last errors of undelivered
// records.
func lastErrors(ctx context.Context, tx *sql.Tx, limit int) ([]common.ErrorCount, error) {
	rows, err := tx.QueryContext(ctx, undelivered+`
		SELECT last_error, count(*) AS n FROM undelivered
		WHERE last_error IS NOT NULL AND last_error <> ''
		GROUP BY last_error
		ORDER BY n DESC, last_error
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
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("retry failed records: begin: %w", err)
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
