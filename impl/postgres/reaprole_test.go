package postgres_test

import (
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/testbin"
)

// withUser returns dsn (a URL) with its user, and application_name if
// app is not empty, replaced.
func withUser(t *testing.T, dsn, user, app string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.User(user)
	if app != "" {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// loginRole creates a role that may log in and is no superuser, named
// from prefix, and drops it, what it owns and its sessions when the test
// ends.
func loginRole(t *testing.T, admin *sql.DB, prefix string) string {
	t.Helper()
	role := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	_, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN NOSUPERUSER`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		_, _ = admin.Exec(`DROP OWNED BY ` + role)
		_, _ = admin.Exec(`DROP ROLE ` + role)
	})
	return role
}

// A reaper whose role sees every session (pg_monitor, as monitoring
// setups grant) but is no superuser ends its own lost load and leaves a
// superuser's goquiz session alone, without an error: it tried to end
// the superuser's session too, and that error ended every look, whatever
// sessions came after it.
func TestReaperEndsOnlySessionsItMayEnd(t *testing.T) {
	base := pgtest.DSN(t)
	admin := openDSN(t, base) // the schema, owned by the superuser
	role := loginRole(t, admin.SQL(), "goquiz_reaper")
	execAll(t, admin, `GRANT pg_monitor TO `+role,
		`GRANT ALL ON ALL TABLES IN SCHEMA public TO `+role,
		`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO `+role)
	mine := withUser(t, base, role, "")

	// The role's own load, lost mid-COPY, then a superuser's session
	// named as goquiz's, waiting in its COPY for its client.
	lostCopy(t, mine, chunkOf(1, 20000))
	openCopy(t, withUser(t, base, "postgres", "goquiz admin"))
	waiting := func(user string) int {
		return countRaw(t, admin.SQL(), `SELECT count(*) FROM pg_stat_activity
			WHERE usename = $1 AND query LIKE 'COPY%' AND wait_event = 'ClientRead'`, user)
	}
	waitFor(t, func() bool { return waiting("postgres") == 1 })

	var logs testbin.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	openWith(t, mine, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout, EndLostLoads: true, Logger: log})
	waitFor(t, func() bool { return waiting(role) == 0 })
	time.Sleep(testTimeout) // a few more looks
	assert.Equal(t, 1, waiting("postgres"), "a session the role may not end is left alone")
	assert.NotContains(t, logs.String(), "terminate", logs.String())
}
