package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/postgres"
)

// A daily export works through PgBouncer in transaction mode: the dry
// run, the upsert (its ids in memory, and in the database once they
// outgrow it), the counts of an insert by hand.
func TestDailyExportThroughPgBouncer(t *testing.T) {
	for _, spilled := range []bool{false, true} {
		t.Run(map[bool]string{false: "ids in memory", true: "ids in the database"}[spilled], func(t *testing.T) {
			if spilled {
				defer postgres.SetSeenMaxBytes(1)()
			}
			db, _, _ := bounced(t)
			day1 := chunkOf(1, 2000)
			_, err := db.Writer().WriteChunk(ctxT(t), day1)
			require.NoError(t, err)
			day2 := chunkOf(1, 2100)
			for i := 0; i < 2000; i += 10 {
				day2[i].Email = "changed"
			}
			want := common.ChunkResult{Stored: 100, Changed: 200, Unchanged: 1800, Duplicates: 1000}
			chunks := [][]common.Customer{day2[:1000], day2[1000:], day2[500:1500]} // the last one read before
			dry, err := db.DryRun(ctxT(t), common.SyncUpsert)
			require.NoError(t, err)
			assert.Equal(t, want, loadChunks(t, dry, chunks...))
			require.NoError(t, dry.Close(ctxT(t)))
			w := db.SyncWriter(common.SyncUpsert)
			assert.Equal(t, want, loadChunks(t, w, chunks...))
			require.NoError(t, w.Close(ctxT(t)))
			execAll(t, db, `INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (9999, 'f', 'l', 'e', 'p')`)
			requireCounted(t, db)
			st, err := db.Status(ctxT(t))
			require.NoError(t, err)
			assert.Equal(t, int64(200), st.NewerVersion)
			assert.Equal(t, int64(2101), st.Pending)
		})
	}
}
