package load

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// table is a store several writers share: the first name stored for each
// id, and the chunks in the order they committed.
type table struct {
	mu     sync.Mutex
	names  map[int64]string
	chunks [][]int64
}

// tableWriter stores into a table. Before storing its nth chunk (from
// 1) it waits for hold[n] to close, if present, and fails its failAt-th.
type tableWriter struct {
	t      *table
	n      int
	hold   map[int]chan struct{}
	failAt int
}

func (w *tableWriter) WriteChunk(ctx context.Context, chunk []common.Customer) (common.ChunkResult, error) {
	w.n++
	if h := w.hold[w.n]; h != nil {
		select {
		case <-h:
		case <-ctx.Done():
			return common.ChunkResult{}, ctx.Err()
		}
	}
	if w.n == w.failAt {
		return common.ChunkResult{}, errors.New("database went away")
	}
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	var res common.ChunkResult
	var ids []int64
	for _, c := range chunk {
		ids = append(ids, c.ID)
		if _, ok := w.t.names[c.ID]; ok {
			res.Duplicates++
			continue
		}
		w.t.names[c.ID] = c.FirstName
		res.Stored++
	}
	w.t.chunks = append(w.t.chunks, ids)
	return res, nil
}

func TestRunWithSeveralWriters(t *testing.T) {
	c := func(id int64, name string) any { return common.Customer{ID: id, FirstName: name} }
	tests := []struct {
		name    string
		rows    []any
		size    int // rows a chunk
		writers int
		// holdFirst: the first writer's first chunk waits until the
		// second writer stored its first (chunk 2 commits before 1).
		holdFirst bool
		failAt    [2]int // the chunk of each writer that fails, from 1
		want      Stats
		names     map[int64]string
		chunks    [][]int64 // in commit order
		wantErr   string
		progress  []int64 // Read at each progress call
	}{
		{
			name: "an id of the chunk before is left out, though its chunk commits first",
			rows: []any{c(1, "a"), c(2, "a"), c(3, "a"), c(3, "b"), c(4, "b"), c(5, "b")},
			size: 3, writers: 2, holdFirst: true,
			want:     Stats{Read: 6, Stored: 5, Duplicates: 1},
			names:    map[int64]string{1: "a", 2: "a", 3: "a", 4: "b", 5: "b"},
			chunks:   [][]int64{{4, 5}, {1, 2, 3}},
			progress: []int64{0, 6, 6}, // Read counts the chunks committed in order
		},
		{
			name: "an id two chunks back meets its first row stored",
			rows: []any{c(1, "a"), c(2, "a"), c(3, "b"), c(4, "b"), c(1, "c"), c(5, "c")},
			size: 2, writers: 2,
			want:  Stats{Read: 6, Stored: 5, Duplicates: 1},
			names: map[int64]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c"},
		},
		{
			name: "three writers leave out the ids of the two chunks before",
			rows: []any{c(1, "a"), c(2, "a"), c(1, "b"), c(3, "b"), c(2, "c"), c(1, "c"), c(4, "d"), c(1, "d")},
			size: 2, writers: 3,
			want:  Stats{Read: 8, Stored: 4, Duplicates: 4},
			names: map[int64]string{1: "a", 2: "a", 3: "b", 4: "d"},
		},
		{
			name: "a failing chunk stops the load; what committed is counted",
			rows: []any{c(1, "a"), c(2, "a"), c(3, "b"), c(4, "b"), c(5, "c"), c(6, "c"), c(7, "d")},
			size: 2, writers: 2, failAt: [2]int{0, 1},
			// Chunks 3 and 4 may have been handed out before the failure.
			names:   map[int64]string{1: "a", 2: "a"},
			wantErr: "store records 3 to 4: database went away",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &table{names: map[int64]string{}}
			second := make(chan struct{})
			ws := make([]common.ChunkWriter, tt.writers)
			for i := range ws {
				w := &tableWriter{t: tb, failAt: tt.failAt[min(i, 1)]}
				if i == 0 && tt.holdFirst {
					w.hold = map[int]chan struct{}{1: second}
				}
				ws[i] = w
			}
			var reads []int64
			progress := func(st Stats) {
				reads = append(reads, st.Read)
				if tt.holdFirst && st.Stored > 0 && len(reads) == 1 {
					close(second) // the second chunk committed: the first may go on
				}
			}
			st, err := Run(context.Background(), &sliceSource{rows: tt.rows}, ws, nil, Options{ChunkSize: tt.size, Progress: progress})
			assert.Equal(t, int64(len(tb.names)), st.Stored, "every stored customer counted")
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				for id, name := range tt.names {
					assert.Equal(t, name, tb.names[id])
				}
				assert.NotContains(t, tb.names, int64(3), "the failed chunk stores nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, st)
			assert.Equal(t, tt.names, tb.names)
			if tt.chunks != nil {
				assert.Equal(t, tt.chunks, tb.chunks)
			}
			if tt.progress != nil {
				assert.Equal(t, tt.progress, reads)
			}
		})
	}
}

func TestRunNeedsAWriter(t *testing.T) {
	_, err := Run(context.Background(), &sliceSource{}, nil, nil, Options{})
	require.EqualError(t, err, "load: no chunk writer")
}

// TestRunWithSeveralWritersStopsWithCtx ends a load whose first chunk
// never commits: Run returns ctx's error once every writer answered.
func TestRunWithSeveralWritersStopsWithCtx(t *testing.T) {
	tb := &table{names: map[int64]string{}}
	never := make(chan struct{})
	ws := []common.ChunkWriter{
		&tableWriter{t: tb, hold: map[int]chan struct{}{1: never}},
		&tableWriter{t: tb},
	}
	rows := make([]any, 100)
	for i := range rows {
		rows[i] = common.Customer{ID: int64(i + 1)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := Run(ctx, &sliceSource{rows: rows}, ws, nil, Options{ChunkSize: 10, Progress: func(st Stats) {
		if st.Stored >= 10 {
			cancel() // the second writer's chunk committed; the first's never will
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(len(tb.names)), st.Stored)
	assert.Zero(t, st.Read, "no chunk committed after every one before it")
}
