package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
)

// A chunk in SYNC_MODE=upsert whose connection is lost mid-copy, or whose
// commit answer is lost, is stored once: each change one new version, each
// new id once, counted as the chunk's.
func TestUpsertChunkStoredOnceAfterALostConnection(t *testing.T) {
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
			direct := openDSN(t, base)
			_, err := direct.Writer().WriteChunk(ctxT(t), chunkOf(1, n/2))
			require.NoError(t, err)
			p, dsn := pgtest.Proxy(t, base)
			db := openWith(t, dsn, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: testTimeout, EndLostLoads: true})
			chunk := chunkOf(1, n)
			for i := 0; i < n/2; i += 2 {
				chunk[i].Email = "changed"
			}
			// The load's first chunk, before the fault: one new id.
			w := db.SyncWriter(common.SyncUpsert)
			_, err = w.WriteChunk(ctxT(t), chunkOf(n+1, 1))
			require.NoError(t, err)
			p.FreezeWhen(tt.rule)

			res, err := w.WriteChunk(ctxT(t), chunk)
			require.NoError(t, err)
			require.NoError(t, w.Close(ctxT(t)))
			assert.Positive(t, p.Frozen(), "the proxy froze")
			assert.Equal(t, common.ChunkResult{Stored: n / 2, Changed: n / 4, Unchanged: n / 4}, res, "stored once, counted as the chunk's")
			assert.Equal(t, n/4, count(t, direct, `SELECT count(*) FROM customers WHERE version = 2`), "one new version each")
			assert.Zero(t, count(t, direct, `SELECT count(*) FROM customers WHERE version > 2`))
			assert.Equal(t, n+1, count(t, direct, `SELECT count(*) FROM customers`))
			requireCounted(t, direct)
		})
	}
}
