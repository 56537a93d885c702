package postgres_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
)

// midCopy freezes the proxy once a few reads of COPY data went through
// after a COPY started: the server holds part of the chunk, locked.
func midCopy() faultproxy.Rule {
	reads := -1
	return func(_ int, dir faultproxy.Dir, data []byte) faultproxy.Action {
		if dir != faultproxy.ToServer {
			return faultproxy.Pass
		}
		if reads < 0 {
			if bytes.Contains(data, []byte("COPY customers")) {
				reads = 0
			}
			return faultproxy.Pass
		}
		if reads++; reads == 3 {
			return faultproxy.PassThenFreeze
		}
		return faultproxy.Pass
	}
}

// onCommitAnswer freezes the proxy holding the answer to a COMMIT: the
// transaction committed, and its client never learns it.
func onCommitAnswer(_ int, dir faultproxy.Dir, data []byte) faultproxy.Action {
	if dir == faultproxy.ToClient && bytes.Contains(data, []byte("COMMIT\x00")) {
		return faultproxy.HoldAndFreeze
	}
	return faultproxy.Pass
}

// chunkOf returns n customers, ids from first.
func chunkOf(first int64, n int) []common.Customer {
	c := make([]common.Customer, n)
	for i := range c {
		c[i] = cust(first+int64(i), "n")
	}
	return c
}

func TestWriteChunkStoredAgainAfterALostConnection(t *testing.T) {
	tests := []struct {
		name string
		rule faultproxy.Rule
	}{
		{"cut mid-copy", midCopy()},
		{"commit answer lost", onCommitAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20000
			base := pgtest.DSN(t)
			p, dsn := pgtest.Proxy(t, base)
			db := openWith(t, dsn, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: testTimeout, EndLostLoads: true})
			p.FreezeWhen(tt.rule)

			start := time.Now()
			res, err := db.Writer().WriteChunk(ctxT(t), chunkOf(1, n))
			require.NoError(t, err)
			took := time.Since(start)
			assert.Positive(t, p.Frozen(), "the proxy froze")
			assert.Equal(t, common.ChunkResult{Stored: n}, res, "stored once, counted as stored")
			assert.Less(t, took, 5*testTimeout)
			direct := openDSN(t, base)
			assert.Len(t, storedNames(t, direct), n)
			assert.Zero(t, count(t, direct, `SELECT count(*) FROM pg_stat_activity
				WHERE query LIKE 'COPY%' AND wait_event = 'ClientRead'`), "no lost COPY is left waiting (the proxy keeps it open)")
		})
	}
}

// A chunk that cannot be stored again within ConnectTimeout fails; a rerun stores
// it without waiting for the session the first run lost mid-copy.
func TestWriteChunkGivesUpAndARerunFinishes(t *testing.T) {
	const n = 20000
	base := pgtest.DSN(t)
	p, dsn := pgtest.Proxy(t, base)
	const wait = 3 * time.Second
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: wait, Timeout: testTimeout})
	p.FreezeWhen(midCopy())
	p.SetNew(faultproxy.NewHang)

	start := time.Now()
	_, err := db.Writer().WriteChunk(ctxT(t), chunkOf(1, n))
	require.Error(t, err)
	took := time.Since(start)
	assert.Contains(t, err.Error(), "connection lost, stored again for 3s (CONNECT_TIMEOUT) without success")
	assert.Less(t, took, testTimeout+wait+2*testTimeout, "gives up after about CONNECT_TIMEOUT")

	rerun := openWith(t, base, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout, EndLostLoads: true})
	start = time.Now()
	res, err := rerun.Writer().WriteChunk(ctxT(t), chunkOf(1, n))
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: n}, res)
	assert.Less(t, time.Since(start), 4*testTimeout, "the lost session was ended")
}

func TestLostErrorsAreTheConnectionsOnly(t *testing.T) {
	db := open(t)
	// A server error about the data is not a lost connection: no retry.
	start := time.Now()
	_, err := db.Writer().WriteChunk(ctxT(t), []common.Customer{{ID: 1, FirstName: "\x00"}})
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), "stored again"), err.Error())
	assert.Less(t, time.Since(start), time.Second)
}

// A chunk whose commit answer is lost, with no connection getting through
// to ask whether it committed before CONNECT_TIMEOUT, fails saying that it
// may be stored, and with what it stored if it was: here it was.
func TestWriteChunkLostCommitUncheckedMayBeStored(t *testing.T) {
	const n = 2000
	base := pgtest.DSN(t)
	p, dsn := pgtest.Proxy(t, base)
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: time.Second, Timeout: testTimeout})
	p.FreezeWhen(func(conn int, dir faultproxy.Dir, data []byte) faultproxy.Action {
		a := onCommitAnswer(conn, dir, data)
		if a != faultproxy.Pass {
			p.SetNew(faultproxy.NewHang)
		}
		return a
	})

	_, err := db.Writer().WriteChunk(ctxT(t), chunkOf(1, n))
	var maybe *common.MaybeCommittedError
	require.ErrorAs(t, err, &maybe)
	assert.Equal(t, common.ChunkResult{Stored: n}, maybe.Result)
	assert.Contains(t, err.Error(), "CONNECT_TIMEOUT")
	assert.Len(t, storedNames(t, openDSN(t, base)), n, "it committed")
}
