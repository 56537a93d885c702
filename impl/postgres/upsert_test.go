package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/postgres"
)

// chunkWriter is a load or a dry run.
type chunkWriter interface {
	common.ChunkWriter
}

// loadChunks writes chunks through w and returns the sum of the results.
func loadChunks(t *testing.T, w chunkWriter, chunks ...[]common.Customer) common.ChunkResult {
	t.Helper()
	var sum common.ChunkResult
	for _, c := range chunks {
		res, err := w.WriteChunk(ctxT(t), c)
		require.NoError(t, err)
		sum.Add(res)
	}
	return sum
}

// A day-2 export in SYNC_MODE=upsert: the dry run counts what the load
// then does, in both modes; an id's first row in the file counts, in any
// chunk; changes are new versions, pending again; the counts are exact.
func TestUpsertAndDryRun(t *testing.T) {
	day2 := [][]common.Customer{
		{cust(1, "a"), cust(2, "changed"), cust(6, "new"), cust(2, "again in the chunk")},
		{cust(3, "changed"), cust(2, "again in the file"), cust(7, "new"), cust(1, "later row of unchanged 1")},
	}
	tests := []struct {
		name    string
		mode    common.SyncMode
		spilled bool // the ids read go to the database after the first chunk
		want    common.ChunkResult
	}{
		{"upsert", common.SyncUpsert, false, common.ChunkResult{Stored: 2, Changed: 2, Unchanged: 1, Duplicates: 3}},
		{"upsert, the ids read in the database", common.SyncUpsert, true, common.ChunkResult{Stored: 2, Changed: 2, Unchanged: 1, Duplicates: 3}},
		{"insert", common.SyncInsert, false, common.ChunkResult{Stored: 2, Duplicates: 6}},
		{"insert, the ids read in the database", common.SyncInsert, true, common.ChunkResult{Stored: 2, Duplicates: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.spilled {
				defer postgres.SetSeenMaxBytes(1)()
			}
			db := open(t)
			first := []common.Customer{cust(1, "a"), cust(2, "a"), cust(3, "a"), cust(4, "a"), cust(5, "a")}
			_, err := db.Writer().WriteChunk(ctxT(t), first)
			require.NoError(t, err)
			// Day 1 sent in full.
			q := db.Queue("a")
			c, err := q.Claim(ctxT(t), 10, 60e9)
			require.NoError(t, err)
			var outcomes []common.Outcome
			for _, d := range c.Records {
				outcomes = append(outcomes, common.Outcome{ID: d.ID, Version: d.Version, Claim: c.ID, Sent: true})
			}
			require.NoError(t, q.Settle(ctxT(t), outcomes, []int64{c.ID}))

			dry, err := db.DryRun(ctxT(t), tt.mode)
			require.NoError(t, err)
			assert.Equal(t, tt.want, loadChunks(t, dry, day2...), "dry run")
			require.NoError(t, dry.Close(ctxT(t)))
			requireCounted(t, db)
			assert.Equal(t, 5, count(t, db, `SELECT count(*) FROM customers`), "a dry run stores nothing")

			w := db.SyncWriter(tt.mode)
			assert.Equal(t, tt.want, loadChunks(t, w, day2...), "the load does what the dry run said")
			require.NoError(t, w.Close(ctxT(t)))
			assert.Zero(t, count(t, db, `SELECT count(*) FROM loads`), "the load's table goes with it")
			requireCounted(t, db)

			type stored struct {
				Name, State string
				Version     int
			}
			got := map[int64]stored{}
			rows, err := db.SQL().Query(`SELECT id, first_name, state, version FROM customers`)
			require.NoError(t, err)
			for rows.Next() {
				var id int64
				var s stored
				require.NoError(t, rows.Scan(&id, &s.Name, &s.State, &s.Version))
				got[id] = s
			}
			require.NoError(t, rows.Err())
			want := map[int64]stored{
				1: {"a", "sent", 1}, 2: {"changed", "pending", 2}, 3: {"changed", "pending", 2},
				4: {"a", "sent", 1}, 5: {"a", "sent", 1}, 6: {"new", "pending", 1}, 7: {"new", "pending", 1},
			}
			if tt.mode == common.SyncInsert {
				want[2], want[3] = stored{"a", "sent", 1}, stored{"a", "sent", 1}
			}
			assert.Equal(t, want, got)
			st, err := db.Status(ctxT(t))
			require.NoError(t, err)
			if tt.mode == common.SyncUpsert {
				assert.Equal(t, int64(2), st.NewerVersion)
			} else {
				assert.Zero(t, st.NewerVersion)
			}
		})
	}
}

// Loading the same export again changes nothing: every row unchanged.
func TestUpsertRerunIsUnchanged(t *testing.T) {
	db := open(t)
	rows := []common.Customer{cust(1, "a"), cust(2, "b")}
	for i, want := range []common.ChunkResult{{Stored: 2}, {Unchanged: 2}} {
		w := db.SyncWriter(common.SyncUpsert)
		assert.Equal(t, want, loadChunks(t, w, rows), "run %d", i+1)
		require.NoError(t, w.Close(ctxT(t)))
	}
	assert.Equal(t, 1, count(t, db, `SELECT max(version) FROM customers`))
}

var _ chunkWriter = (*postgres.DryRun)(nil)
