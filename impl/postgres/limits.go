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
// limit, in force for its peers for d from now by the server's clock
// (the latest note counts); d <= 0 withdraws it. Either way it drops the
// limits that other integrators noted and that ended more than limitKept
// ago, in the same statement. It implements common.LimitSharer.
func (q *Queue) NoteLimit(ctx context.Context, d time.Duration) error {
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
		INSERT INTO pace_limits (owner, until) VALUES ($1, now() + $2 * interval '1 millisecond')
		ON CONFLICT (owner) DO UPDATE SET until = excluded.until`, q.owner, millis(d), millis(limitKept))
	if err != nil {
		return fmt.Errorf("record the CRM's rate limit found by this integrator, for %v: %w", d, err)
	}
	return nil
}

// PeerLimited tells whether the CRM's rate limit that another integrator
// noted is in force now, by the server's clock. It implements
// common.LimitSharer.
func (q *Queue) PeerLimited(ctx context.Context) (bool, error) {
	var limited bool
	err := q.db.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT FROM pace_limits WHERE owner <> $1 AND until > now())`, q.owner).Scan(&limited)
	if err != nil {
		return false, fmt.Errorf("read whether another integrator found the CRM's rate limit: %w", err)
	}
	return limited, nil
}
