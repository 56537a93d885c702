package postgres_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/postgres"
)

func cust(id int64, name string) common.Customer {
	return common.Customer{ID: id, FirstName: name, LastName: "L" + name, Email: name + "@example.com", Phone: "555 " + name}
}

func storedNames(t *testing.T, db *postgres.DB) map[int64]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT id, first_name FROM customers`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		require.NoError(t, rows.Scan(&id, &name))
		out[id] = name
	}
	require.NoError(t, rows.Err())
	return out
}

func TestWriteChunkDuplicates(t *testing.T) {
	tests := []struct {
		name   string
		chunks [][]common.Customer
		want   []common.ChunkResult
		names  map[int64]string
	}{
		{
			name:   "within one chunk the first wins",
			chunks: [][]common.Customer{{cust(1, "a"), cust(2, "b"), cust(1, "c"), cust(2, "d"), cust(3, "e")}},
			want:   []common.ChunkResult{{Stored: 3, Duplicates: 2}},
			names:  map[int64]string{1: "a", 2: "b", 3: "e"},
		},
		{
			name:   "across chunks the first wins",
			chunks: [][]common.Customer{{cust(1, "a"), cust(2, "b")}, {cust(2, "x"), cust(3, "c"), cust(1, "y")}, {cust(4, "d")}},
			want:   []common.ChunkResult{{Stored: 2}, {Stored: 1, Duplicates: 2}, {Stored: 1}},
			names:  map[int64]string{1: "a", 2: "b", 3: "c", 4: "d"},
		},
		{
			name:   "a chunk of only duplicates",
			chunks: [][]common.Customer{{cust(5, "a")}, {cust(5, "b"), cust(5, "c")}},
			want:   []common.ChunkResult{{Stored: 1}, {Duplicates: 2}},
			names:  map[int64]string{5: "a"},
		},
		{
			name:   "empty values stay empty strings",
			chunks: [][]common.Customer{{{ID: 9}}},
			want:   []common.ChunkResult{{Stored: 1}},
			names:  map[int64]string{9: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			w := db.Writer()
			for i, chunk := range tt.chunks {
				res, err := w.WriteChunk(ctxT(t), chunk)
				require.NoError(t, err)
				assert.Equal(t, tt.want[i], res, "chunk %d", i)
			}
			assert.Equal(t, tt.names, storedNames(t, db))
		})
	}
}

func TestWriteChunkAcrossWritersAndRuns(t *testing.T) {
	db := open(t)
	first := make([]common.Customer, 0, 100)
	for i := int64(1); i <= 100; i++ {
		first = append(first, cust(i, "first"))
	}
	res, err := db.Writer().WriteChunk(ctxT(t), first)
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 100}, res)

	// A rerun: a new writer meets the stored ids, then new ones again.
	w := db.Writer()
	res, err = w.WriteChunk(ctxT(t), first[50:])
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Duplicates: 50}, res)
	mixed := []common.Customer{cust(99, "second"), cust(101, "second"), cust(102, "second")}
	res, err = w.WriteChunk(ctxT(t), mixed)
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 2, Duplicates: 1}, res)
	res, err = w.WriteChunk(ctxT(t), []common.Customer{cust(200, "third")})
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 1}, res)

	names := storedNames(t, db)
	assert.Len(t, names, 103)
	assert.Equal(t, "first", names[99])
	assert.Equal(t, "second", names[101])
}

func TestWriteChunkConcurrentWriters(t *testing.T) {
	db := open(t)
	const writers, chunks, size = 4, 10, 500
	var mu sync.Mutex
	var total common.ChunkResult
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := db.Writer()
			for c := 0; c < chunks; c++ {
				// Every writer writes the same ids in a different order.
				chunk := make([]common.Customer, size)
				for i := range chunk {
					id := int64(c*size + (i*7+w*131)%size + 1)
					chunk[i] = cust(id, fmt.Sprint(w))
				}
				res, err := wr.WriteChunk(ctxT(t), chunk)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				total.Stored += res.Stored
				total.Duplicates += res.Duplicates
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(chunks*size), total.Stored)
	assert.Equal(t, int64((writers-1)*chunks*size), total.Duplicates)
	assert.Len(t, storedNames(t, db), chunks*size)
}

func TestWriteChunkFailureStoresNothing(t *testing.T) {
	db := open(t)
	w := db.Writer()
	// PostgreSQL text cannot hold NUL: the copy fails at the second row.
	_, err := w.WriteChunk(ctxT(t), []common.Customer{cust(1, "a"), {ID: 2, FirstName: "bad\x00"}, cust(3, "c")})
	require.Error(t, err)
	assert.Empty(t, storedNames(t, db))
	res, err := w.WriteChunk(ctxT(t), []common.Customer{cust(1, "a"), cust(3, "c")})
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 2}, res)
	ids := make([]int, 0)
	for id := range storedNames(t, db) {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	assert.Equal(t, []int{1, 3}, ids)
}
