package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
)

// reapTimeout is the DB_TIMEOUT of the reaper's timing tests: long enough
// that its fractions stand out from the noise of a loaded machine.
const reapTimeout = 4 * time.Second

// lostCopy starts a load through a proxy that freezes its connection in the
// middle of a chunk's COPY, and lets no new connection through: the
// server session goes on waiting for COPY data, holding the rows copied so
// far, as after a network partition. It returns the time of the freeze,
// once the server shows the COPY waiting for its client.
func lostCopy(t *testing.T, base string, chunk []common.Customer) time.Time {
	t.Helper()
	p, dsn := pgtest.Proxy(t, base)
	lost := openWith(t, dsn, postgres.Options{ConnectTimeout: time.Second, Timeout: reapTimeout})
	var frozenAt atomic.Int64
	rule := midCopy()
	p.FreezeWhen(func(conn int, dir faultproxy.Dir, data []byte) faultproxy.Action {
		a := rule(conn, dir, data)
		if a != faultproxy.Pass {
			p.SetNew(faultproxy.NewHang)
			frozenAt.Store(time.Now().UnixNano())
		}
		return a
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = lost.Writer().WriteChunk(ctx, chunk) // fails: its connection is lost
	}()
	t.Cleanup(func() { cancel(); <-done })
	direct := openDSN(t, base)
	waitFor(t, func() bool {
		return frozenAt.Load() != 0 && count(t, direct, `SELECT count(*) FROM pg_stat_activity
			WHERE query LIKE 'COPY%' AND wait_event = 'ClientRead'`) == 1
	})
	return time.Unix(0, frozenAt.Load())
}

// A rerun does not wait on a load session lost mid-COPY for longer than
// about DB_TIMEOUT from the moment it was lost: the reaper dates the
// session's silence from the server's own record of its COPY's start, not
// from when it first saw it. Started at once, the rerun finishes about
// DB_TIMEOUT after the freeze; started once the session has been silent
// for DB_TIMEOUT, at once.
func TestRerunWaitsOnALostCopyAtMostAboutTheTimeout(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration // from the freeze to the rerun's start
		// limit bounds the rerun, from the freeze or from its start.
		limit     time.Duration
		fromStart bool
	}{
		{"rerun at once", 0, reapTimeout + reapTimeout*2/5, false},
		{"rerun after the timeout", reapTimeout + reapTimeout/4, reapTimeout / 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20000
			base := pgtest.DSN(t)
			frozen := lostCopy(t, base, chunkOf(1, n))
			time.Sleep(time.Until(frozen.Add(tt.after)))

			start := time.Now()
			rerun := openWith(t, base, postgres.Options{ConnectTimeout: 3 * reapTimeout, Timeout: reapTimeout, EndLostLoads: true})
			res, err := rerun.Writer().WriteChunk(ctxT(t), chunkOf(1, n))
			require.NoError(t, err)
			assert.Equal(t, common.ChunkResult{Stored: n}, res)
			took, sinceFreeze := time.Since(start), time.Since(frozen)
			t.Logf("DB_TIMEOUT=%s: rerun started %s after the freeze, took %s, done %s after the freeze",
				reapTimeout, start.Sub(frozen).Round(time.Millisecond), took.Round(time.Millisecond), sinceFreeze.Round(time.Millisecond))
			if tt.fromStart {
				assert.Less(t, took, tt.limit, "a session silent for DB_TIMEOUT is ended at once")
			} else {
				assert.Less(t, sinceFreeze, tt.limit, "the lost session is ended about DB_TIMEOUT after the freeze")
			}
		})
	}
}

// A load that is at work is never ended, even when the reaper first sees
// it more than a timeout after its COPY started: its COPY, waiting for its
// client between rows, receives more between every two looks.
func TestReaperLeavesALoadAtWork(t *testing.T) {
	base := pgtest.DSN(t)
	openDSN(t, base) // the schema
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", "goquiz slow")
	u.RawQuery = q.Encode()
	tx, stmt := openCopy(t, u.String())
	// Rows bigger than lib/pq's 64 KiB buffer go to the server one by
	// one, every 50 ms, for 3.5 timeouts.
	name := strings.Repeat("n", 70<<10)
	start := time.Now()
	var reaper *postgres.DB
	for id := 1; time.Since(start) < 3*testTimeout+testTimeout/2; id++ {
		_, err := stmt.Exec(id, name, "l", "e", "p")
		require.NoError(t, err, "the load goes on")
		if reaper == nil && time.Since(start) > testTimeout+testTimeout/2 {
			reaper = openWith(t, base, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout, EndLostLoads: true})
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = stmt.Exec()
	require.NoError(t, err, "the COPY was not ended")
	require.NoError(t, stmt.Close())
	require.NoError(t, tx.Commit())
}

// openCopy starts a COPY into customers in a transaction of its own on a
// connection to dsn; what the test does not end ends with it.
func openCopy(t *testing.T, dsn string) (*sql.Tx, *sql.Stmt) {
	t.Helper()
	raw, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	tx, err := raw.BeginTx(ctxT(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	stmt, err := tx.Prepare(pq.CopyIn("customers", "id", "first_name", "last_name", "email", "phone"))
	require.NoError(t, err)
	t.Cleanup(func() { stmt.Close() })
	return tx, stmt
}
