package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuotaPauseInStatus checks that a quota pause noted by an integrator
// shows in the status until it ends, that the latest end is kept
// whoever notes an earlier one, and that a pause past shows no more.
func TestQuotaPauseInStatus(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	st, err := db.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.PausedUntil.IsZero(), "none noted")

	later := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
	require.NoError(t, db.Queue("a").NoteQuota(ctx, later))
	require.NoError(t, db.Queue("b").NoteQuota(ctx, later.Add(-time.Hour)))
	st, err = db.Status(ctx)
	require.NoError(t, err)
	assert.True(t, later.Equal(st.PausedUntil), "the latest end: %v", st.PausedUntil)
	assert.Equal(t, "a", st.PausedBy)
	until, err := db.Queue("c").QuotaPause(ctx)
	require.NoError(t, err)
	assert.True(t, later.Equal(until), "what an integrator that starts reads: %v", until)

	_, err = db.SQL().Exec(`UPDATE crm_pause SET until = now() - interval '1 second'`)
	require.NoError(t, err)
	st, err = db.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.PausedUntil.IsZero(), "ended")
	soon := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	require.NoError(t, db.Queue("b").NoteQuota(ctx, soon))
	st, err = db.Status(ctx)
	require.NoError(t, err)
	assert.True(t, soon.Equal(st.PausedUntil), "a new pause after one ended")
	until, err = db.Queue("c").QuotaPause(ctx)
	require.NoError(t, err)
	assert.True(t, soon.Equal(until))
	assert.Equal(t, "b", st.PausedBy)
}
