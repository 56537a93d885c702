package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// A chunk whose session is terminated again and again, whatever it is
// doing, is stored again on a new connection each time, or given up after
// CONNECT_TIMEOUT, and never hangs. The driver reports a connection it
// found dead as bad to the next statement; inside the COPY's Conn.Raw,
// database/sql answered that by waiting for the chunk's own transaction
// to end, forever (the parser hung with no CPU and no progress).
func TestWriteChunkSurvivesSessionsKilledMidCopy(t *testing.T) {
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(ctxT(t), dsn, postgres.Options{ConnectTimeout: 10 * time.Second, App: "goquiz killed"})
	require.NoError(t, err)
	defer db.Close()
	admin, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer admin.Close()

	const n = 300_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := db.Writer().WriteChunk(ctx, chunkOf(1, n))
		done <- err
	}()
	// Terminate the chunk's session, whatever it is doing, now and
	// then, 10 times or until the chunk ends (or for 15 s at most).
	var result error
	ended := false
	stop := time.Now().Add(15 * time.Second)
	for kills := 0; kills < 10 && !ended && time.Now().Before(stop); {
		select {
		case result = <-done:
			ended = true
			continue
		case <-time.After(time.Duration(20+kills*10) * time.Millisecond):
		}
		var k int
		require.NoError(t, admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'goquiz killed'`).Scan(&k))
		kills += k
	}
	if !ended {
		select {
		case result = <-done:
		case <-time.After(45 * time.Second):
			t.Fatal("the chunk hangs after its sessions were killed")
		}
	}
	if result != nil { // given up after CONNECT_TIMEOUT: a rerun stores it
		require.ErrorContains(t, result, "CONNECT_TIMEOUT")
		_, err = db.Writer().WriteChunk(ctx, chunkOf(1, n))
		require.NoError(t, err)
	}
	var stored int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM customers`).Scan(&stored))
	assert.Equal(t, n, stored)
}
