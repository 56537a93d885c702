package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// NoteQuota records that the CRM's quota is spent: no request is sent
// before until. Of several, the latest time is kept, with the integrator
// that noted it. It implements common.QuotaNoter.
func (q *Queue) NoteQuota(ctx context.Context, until time.Time) error {
	_, err := q.db.db.ExecContext(ctx, `
		INSERT INTO crm_pause (until, noted_by) VALUES ($1, $2)
		ON CONFLICT (one) DO UPDATE SET until = excluded.until, noted_by = excluded.noted_by, noted_at = now()
		WHERE crm_pause.until < excluded.until`, until, q.owner)
	if err != nil {
		return fmt.Errorf("record the CRM's quota pause until %s: %w", until.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// QuotaPause returns the end of the CRM's quota pause in force; zero when
// none is. It implements common.QuotaNoter.
func (q *Queue) QuotaPause(ctx context.Context) (time.Time, error) {
	until, _, err := quotaPause(ctx, q.db.db)
	return until, err
}

// quotaPause reads the CRM's quota pause in force: its end and the
// integrator that noted it; zero when none is.
func quotaPause(ctx context.Context, q queryer) (time.Time, string, error) {
	var until time.Time
	var by string
	err := q.QueryRowContext(ctx, `SELECT until, noted_by FROM crm_pause WHERE until > now()`).Scan(&until, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", fmt.Errorf("read the CRM's quota pause: %w", err)
	}
	return until, by, nil
}
