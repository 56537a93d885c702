package postgres_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
)

// A database of the schema before pace_limits, owned by a role that is no
// superuser, gets the table on the next start, and the integrators share
// their rate limits through it.
func TestMigrateAddsPaceLimits(t *testing.T) {
	dsn := pgtest.DSN(t)
	admin, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer admin.Close()
	role := loginRole(t, admin, "goquiz_owner")
	var name string
	require.NoError(t, admin.QueryRow(`SELECT quote_ident(current_database())`).Scan(&name))
	t.Cleanup(func() { // before loginRole's: a role owning a database cannot be dropped
		_, _ = admin.Exec(`ALTER DATABASE ` + name + ` OWNER TO CURRENT_USER`)
	})
	_, err = admin.Exec(`ALTER DATABASE ` + name + ` OWNER TO ` + role)
	require.NoError(t, err)
	mine := withUser(t, dsn, role, "")

	before := openDSN(t, mine)
	execAll(t, before, `DROP TABLE pace_limits`) // the schema before it
	before.Close()

	db := openDSN(t, mine)
	assert.Equal(t, 1, countRaw(t, admin, `SELECT count(*) FROM pg_tables WHERE tablename = 'pace_limits' AND tableowner = $1`, role),
		"created on start, owned by the role")
	require.NoError(t, db.Queue("a").NoteLimit(ctxT(t), time.Minute, 42))
	rates, err := db.Queue("b").PeerLimits(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, []float64{42}, rates)
	rates, err = db.Queue("a").PeerLimits(ctxT(t))
	require.NoError(t, err)
	assert.Empty(t, rates)
}

// Noting a limit, or withdrawing one, drops the limits of others that
// ended more than a day ago (integrators gone), and only those: the table
// stays a few rows.
func TestNoteLimitDropsLongEnded(t *testing.T) {
	db := open(t)
	old := func(owner string, ago time.Duration) {
		t.Helper()
		_, err := db.SQL().Exec(`INSERT INTO pace_limits (owner, until) VALUES ($1, now() - $2 * interval '1 second')`,
			owner, ago.Seconds())
		require.NoError(t, err)
	}
	owners := func() []string {
		t.Helper()
		rows, err := db.SQL().Query(`SELECT owner FROM pace_limits ORDER BY owner`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var o string
			require.NoError(t, rows.Scan(&o))
			out = append(out, o)
		}
		require.NoError(t, rows.Err())
		return out
	}

	old("gone", 48*time.Hour)
	old("lately", time.Hour)
	old("a", 72*time.Hour) // a's own, long ended: noted again
	require.NoError(t, db.Queue("a").NoteLimit(ctxT(t), time.Minute, 1))
	assert.Equal(t, []string{"a", "lately"}, owners())
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pace_limits WHERE owner = 'a' AND until > now() + interval '50 seconds'`),
		"a's row, noted anew")

	old("gone", 25*time.Hour)
	require.NoError(t, db.Queue("b").NoteLimit(ctxT(t), 0, 0))
	assert.Equal(t, []string{"a", "lately"}, owners(), "a withdrawal drops them too")
	require.NoError(t, db.Queue("a").NoteLimit(ctxT(t), -time.Second, 0))
	assert.Equal(t, []string{"lately"}, owners())
}
