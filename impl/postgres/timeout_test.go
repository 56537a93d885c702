package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// testTimeout is the round-trip timeout of the tests that break
// connections: short, so that they stay quick.
const testTimeout = time.Second

// openWith opens a store on dsn with opts, closed when the test ends.
func openWith(t *testing.T, dsn string, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(ctxT(t), dsn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// requireNoAnswer checks that err is the failure of a round trip that got
// no answer within the timeout.
func requireNoAnswer(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Contains(t, err.Error(), "no answer from PostgreSQL within DB_TIMEOUT (1s); connection closed")
}

func TestRoundTripOnAFrozenConnectionFailsAfterTheTimeout(t *testing.T) {
	p, dsn := pgtest.Proxy(t, pgtest.DSN(t))
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout})
	var one int
	require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one))
	require.Equal(t, 1, p.Freeze())

	start := time.Now()
	err := db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one)
	took := time.Since(start)
	requireNoAnswer(t, err)
	assert.GreaterOrEqual(t, took, testTimeout)
	assert.Less(t, took, 2*testTimeout, "no round trip waits much longer than the timeout")

	// The connection was dropped: the next round trip goes over a new one.
	start = time.Now()
	require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one))
	assert.Less(t, time.Since(start), testTimeout)
}

func TestPingReturnsWhenItsContextEnds(t *testing.T) {
	p, dsn := pgtest.Proxy(t, pgtest.DSN(t))
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: time.Minute})
	p.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.Error(t, db.Ping(ctx))
	assert.Less(t, time.Since(start), time.Second, "the frozen connection is closed, not waited for")
}

// A session sends no server setting at its start, which a
// transaction-pooling proxy would refuse or hand to its next client; the
// store's transactions carry the server's limits themselves (SET LOCAL),
// and they end with them.
func TestTransactionsCarryServerLimitsSessionsNone(t *testing.T) {
	tests := []struct {
		name    string
		dsn     func(string) string
		session map[string]string
		tx      map[string]string
	}{
		{"derived from the timeout", func(d string) string { return d }, map[string]string{
			"statement_timeout":                   "0",
			"idle_in_transaction_session_timeout": "0",
			"tcp_user_timeout":                    "0",
			"application_name":                    "goquiz test",
		}, map[string]string{
			"statement_timeout":                   "2s",
			"idle_in_transaction_session_timeout": "2s",
		}},
		{"what the DSN sets wins", func(d string) string { return d + "&statement_timeout=5000&application_name=mine" }, map[string]string{
			"statement_timeout":                   "5s",
			"idle_in_transaction_session_timeout": "0",
			"application_name":                    "mine",
		}, map[string]string{
			"idle_in_transaction_session_timeout": "2s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openWith(t, tt.dsn(pgtest.DSN(t)), postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: 2 * time.Second, App: "goquiz test"})
			db.SQL().SetMaxOpenConns(1) // the transaction's connection is checked after it
			tx, err := db.Begin(ctxT(t))
			require.NoError(t, err)
			for name, want := range tt.tx {
				var got string
				require.NoError(t, tx.QueryRowContext(ctxT(t), `SELECT current_setting($1)`, name).Scan(&got))
				assert.Equal(t, want, got, "in a transaction: %s", name)
			}
			require.NoError(t, tx.Commit())
			for name, want := range tt.session {
				var got string
				require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT current_setting($1)`, name).Scan(&got))
				assert.Equal(t, want, got, "after it: %s", name)
			}
		})
	}
}

// The server ends a session goquiz lost in the middle of a transaction:
// its locks go within about the timeout.
func TestServerEndsALostTransaction(t *testing.T) {
	base := pgtest.DSN(t)
	p, dsn := pgtest.Proxy(t, base)
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout})
	tx, err := db.Begin(ctxT(t))
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(ctxT(t), `SELECT pg_advisory_xact_lock(42)`)
	require.NoError(t, err)
	p.Freeze()

	other := openDSN(t, base)
	start := time.Now()
	_, err = other.SQL().ExecContext(ctxT(t), `SELECT pg_advisory_xact_lock(42)`)
	require.NoError(t, err, "the lock is free once the server ended the lost session")
	assert.Less(t, time.Since(start), 2*testTimeout)
}

func TestSeveralHostsTheFirstThatAnswers(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	// Nothing listens on port 1: lib/pq goes on to the next host.
	u.Host = "127.0.0.1:1," + u.Host
	db := openWith(t, u.String()+"&target_session_attrs=read-write", postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout})
	require.NoError(t, db.Ping(ctxT(t)))
}

// Schema creation waiting for another process's lock may take longer
// than a round trip: it is not cut, while an ordinary statement waiting
// for the same lock is.
func TestSchemaCreationWaitsForALockLongerThanTheTimeout(t *testing.T) {
	dsn := pgtest.DSN(t)
	holder := holdSchemaLock(t, dsn)
	const held = 3 * testTimeout
	go func() { time.Sleep(held); holder.Rollback() }()

	start := time.Now()
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout})
	assert.GreaterOrEqual(t, time.Since(start), held, "Open waited for the lock")

	holdSchemaLock(t, dsn)
	start = time.Now()
	_, err := db.SQL().ExecContext(ctxT(t), `SELECT pg_advisory_xact_lock(x'676f71756978'::bigint)`)
	require.Error(t, err, "an ordinary statement is cut")
	assert.Less(t, time.Since(start), 2*testTimeout)
}

// An exempt statement whose answer is lost is not waited for: the
// watchdog sees the server done with it and bounds the wait.
func TestLongStatementCutWhenItsAnswerIsLost(t *testing.T) {
	base := pgtest.DSN(t)
	holder := holdSchemaLock(t, base)
	raw, err := sql.Open("postgres", base)
	require.NoError(t, err)
	defer raw.Close()

	p, dsn := pgtest.Proxy(t, base)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		db, err := postgres.Open(context.Background(), dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout})
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	// Open waits for the lock; the proxy freezes; the lock goes.
	waitFor(t, func() bool {
		return countRaw(t, raw, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'goquiz'`) == 1
	})
	p.Freeze()
	frozen := time.Now()
	time.Sleep(testTimeout / 2)
	require.NoError(t, holder.Rollback())
	select {
	case err := <-done:
		requireNoAnswer(t, err)
		assert.Less(t, time.Since(frozen), 3*testTimeout, "given up within about the timeout after the freeze")
		assert.Greater(t, time.Since(start), testTimeout/2)
	case <-time.After(30 * time.Second):
		t.Fatal("Open hangs on a lost answer")
	}
}

// holdSchemaLock takes the lock under which the schema is created, in a
// transaction of its own on dsn, rolled back when the test ends (or
// earlier, by the test).
func holdSchemaLock(t *testing.T, dsn string) *sql.Tx {
	t.Helper()
	raw, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	tx, err := raw.BeginTx(ctxT(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { tx.Rollback() })
	_, err = tx.Exec(`SELECT pg_advisory_xact_lock(x'676f71756978'::bigint)`)
	require.NoError(t, err)
	return tx
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond)
}

func countRaw(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

func TestDSNErrorsHideThePassword(t *testing.T) {
	_, err := postgres.Open(ctxT(t), "postgres://u:secret@h:5432/db?sslmode=bogus", postgres.Options{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}
