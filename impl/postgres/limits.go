package postgres

import (
	"context"
	"fmt"
	"time"

	"goquiz/common"
)

var _ common.LimitSharer = (*Queue)(nil)

// limitKept is how long after its end a noted rate limit stays in
// pace_limits: any note drops those of other integrators that ended
// longer ago (integrators gone), so that the table stays a few rows.
const limitKept = 24 * time.Hour

// NoteLimit records that this integrator's pacing found the CRM's rate
// limit, in force for its peers for d from now by the server's clock, and
// the rate at which the CRM takes its requests (the latest note counts);
// d <= 0 withdraws it. Either way it drops the limits that other
// integrators noted and that ended more than limitKept ago, in the same
// statement. It implements common.LimitSharer.
func (q *Queue) NoteLimit(ctx context.Context, d time.Duration, rate float64) error {
	if d <= 0 {
		_, err := q.db.db.ExecContext(ctx, `
			DELETE FROM pace_limits
			WHERE owner = $1 OR until < now() - $2 * interval '1 millisecond'`, q.owner, millis(limitKept))
		if err != nil {
			return fmt.Errorf("withdraw the CRM's rate limit noted by this integrator: %w", err)
		}
		return nil
	}
	// The old rows of others only: the insert may update this owner's
	// row, which the same statement must not delete too.
	_, err := q.db.db.ExecContext(ctx, `
		WITH gone AS (
			DELETE FROM pace_limits WHERE owner <> $1 AND until < now() - $3 * interval '1 millisecond'
		)
		INSERT INTO pace_limits (owner, until, rate) VALUES ($1, now() + $2 * interval '1 millisecond', $4)
		ON CONFLICT (owner) DO UPDATE SET until = excluded.until, rate = excluded.rate`, q.owner, millis(d), millis(limitKept), rate)
	if err != nil {
		return fmt.Errorf("record the CRM's rate limit found by this integrator, for %v: %w", d, err)
	}
	return nil
}

// PeerLimits returns the rates noted with the CRM's rate limits that
// other integrators noted and that are in force now, by the server's
// clock. It implements common.LimitSharer.
func (q *Queue) PeerLimits(ctx context.Context) ([]float64, error) {
	rows, err := q.db.db.QueryContext(ctx,
		`SELECT rate FROM pace_limits WHERE owner <> $1 AND until > now()`, q.owner)
	if err != nil {
		return nil, fmt.Errorf("read the CRM's rate limits other integrators found: %w", err)
	}
	defer rows.Close()
	var rates []float64
	for rows.Next() {
		var r float64
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("read the CRM's rate limits other integrators found: %w", err)
		}
		rates = append(rates, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the CRM's rate limits other integrators found: %w", err)
	}
	return rates, nil
}
