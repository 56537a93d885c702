package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// A dry run on a database without goquiz's schema counts every id new, in
// memory or, once the ids outgrow it, in a table of their own, for which
// it creates the schema (and only then).
func TestDryRunWithoutTheSchema(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(map[bool]string{false: "ids in memory", true: "ids in a table"}[spill], func(t *testing.T) {
			if spill {
				defer postgres.SetSeenMaxBytes(1)()
			}
			db, err := postgres.Open(ctxT(t), pgtest.DSN(t), postgres.Options{ConnectTimeout: 10 * time.Second, NoMigrate: true})
			require.NoError(t, err)
			defer db.Close()
			for _, mode := range []common.SyncMode{common.SyncInsert, common.SyncUpsert} {
				dry, err := db.DryRun(ctxT(t), mode)
				require.NoError(t, err)
				got := loadChunks(t, dry, chunkOf(1, 100), chunkOf(51, 100), chunkOf(300, 10))
				require.NoError(t, dry.Close(ctxT(t)))
				assert.Equal(t, common.ChunkResult{Stored: 160, Duplicates: 50}, got, mode)
			}
			var exists bool
			require.NoError(t, db.SQL().QueryRow(`SELECT to_regclass('customers') IS NOT NULL`).Scan(&exists))
			assert.Equal(t, spill, exists, "the schema is created for the ids' table only")
		})
	}
}
