package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/impl/queuetest"
)

// TestMigrateHelperProcess is not a test: it is the child process of
// TestMigrateFromFourProcesses, which runs the test binary four times.
func TestMigrateHelperProcess(t *testing.T) {
	dsn := os.Getenv("GOQUIZ_MIGRATE_DSN")
	if dsn == "" {
		t.Skip("helper process only")
	}
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	db.Close()
}

func TestMigrateFromFourProcesses(t *testing.T) {
	dsn := pgtest.DSN(t)
	cmds := make([]*exec.Cmd, 4)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "GOQUIZ_MIGRATE_DSN="+dsn)
	}
	for _, c := range cmds {
		require.NoError(t, c.Start())
	}
	for i, c := range cmds {
		assert.NoError(t, c.Wait(), "process %d", i)
	}
	db := openDSN(t, dsn)
	assert.Equal(t, 6, count(t, db, `SELECT count(*) FROM pg_indexes WHERE tablename IN ('customers', 'claims')`),
		"customers: primary key, due, failed, rejected; claims: primary key, owner")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'customers'::regclass AND tgname LIKE 'customers_count_%'`),
		"counting triggers: update, delete, truncate")
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'customers'::regclass AND tgname = 'customers_insert_uncounted'`),
		"inserts by hand leave a mark")
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://u@h/db?password=secret", "postgres://u@h/db?password=***"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"},
		{"host=h password='se cret' dbname=d", "host=h password=*** dbname=d"},
		{`host=h password=se\ cret dbname=d`, "host=h password=*** dbname=d"},
		{"host=h password='se cret", "host=h password=***"},
		{`host=h password="se cret" dbname=d`, "host=h password=*** dbname=d"},
		{"host=h password=se cret dbname=d", "host=h password=*** dbname=d"},
		{"host=h sslpassword=secret password = 'x' dbname=d", "host=h sslpassword=*** password = *** dbname=d"},
		{"postgres://u@h/db?sslpassword=secret", "postgres://u@h/db?sslpassword=***"},
		// URLs that do not parse.
		{"postgres://u:secret@h:abc/db", "postgres://u:***@h:abc/db"},
		{"postgres://u:sec%zzret@h/db", "postgres://u:***@h/db"},
		{"postgresql://u:secret@[::1/db", "postgresql://u:***@[::1/db"},
		{"postgres://u:secret@h /db", "postgres://u:***@h /db"},
		{"postgres://u:secret@h/d%zzb", "postgres://u:***@h/d%zzb"},
		{"postgres://u:se@cret@h:x/db", "postgres://u:***@h:x/db"},
		{"postgres://u ser:secret@h/db", "postgres://u ser:***@h/db"},
		{"postgres://u@h:x/db?password=secret", "postgres://u@h:x/db?password=***"},
	}
	for _, tt := range tests {
		got := postgres.Redact(tt.in)
		assert.Equal(t, tt.want, got)
		assert.NotContains(t, got, "secret")
	}
}

// A DSN that cannot be used is told by CheckDSN (and Open) without its
// password, whatever the reason.
func TestCheckDSN(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:secret@h:abc/db", "postgres://u:sec%zzret@h/db", "postgresql://u:secret@[::1/db",
		"postgres://u:secret@h /db", "postgres://u ser:secret@h/db",
		"host=h password=secret sslmode=bogus", "postgres://u:secret@h/db?sslmode=bogus",
		"host=h password=secret port=99999", "host=h password=secret connect_timeout=abc",
	} {
		err := postgres.CheckDSN(dsn)
		require.Error(t, err, dsn)
		assert.NotContains(t, err.Error(), "secret", dsn)
		_, err = postgres.Open(ctxT(t), dsn, postgres.Options{})
		require.Error(t, err, dsn)
		assert.NotContains(t, err.Error(), "secret", dsn)
	}
	require.NoError(t, postgres.CheckDSN("postgres://u:secret@h:5432/db?sslmode=disable"))
	require.NoError(t, postgres.CheckDSN("host=h user=u password=secret dbname=d"))
}

// A database created by an earlier goquiz has customers, with the lease
// columns of the time, but no claims table: Migrate adds what is missing
// and the queue works on it.
func TestMigrateCompletesAnOlderSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	raw, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`CREATE TABLE customers (
		id bigint PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL, phone text NOT NULL,
		state text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
		next_attempt_at timestamptz NOT NULL DEFAULT now(), leased_by text, lease_until timestamptz, last_error text,
		created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);
		CREATE INDEX customers_due ON customers (next_attempt_at) WHERE state = 'pending';
		INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (1, 'f', 'l', 'e', 'p')`)
	require.NoError(t, err)

	db := openDSN(t, dsn)
	q := db.Queue("a")
	got, err := q.Claim(ctxT(t), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, queuetest.IDs(got))
	require.NoError(t, q.Settle(ctxT(t), []common.Outcome{{ID: 1, Claim: got.ID, Sent: true}}, []int64{got.ID}))
	assert.Equal(t, "sent", get(t, db, 1).State)
}

// A table added by a later schema (pace_limits) is created on the next
// start without recounting the records: the counts' objects were there,
// so the counts are right, and a recount reads the whole table under a
// lock that holds every writer. A stray count row, which a recount would
// drop, shows that none ran.
func TestMigrateOfAnAddedTableDoesNotRecount(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	execAll(t, db, `INSERT INTO counts (pending, sent, failed) VALUES (5, 0, 0)`, `DROP TABLE pace_limits`)
	db.Close()

	db = openDSN(t, dsn)
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'pace_limits'`))
	assert.Equal(t, 5, count(t, db, `SELECT sum(pending) FROM counts`), "not recounted")
}
