package load

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// sliceSource yields a fixed list of rows, then err (io.EOF by default).
type sliceSource struct {
	rows []any // Customer or Reject
	err  error
	i    int
}

func (s *sliceSource) Next() (common.Customer, *common.Reject, error) {
	if s.i == len(s.rows) {
		if s.err != nil {
			return common.Customer{}, nil, s.err
		}
		return common.Customer{}, nil, io.EOF
	}
	r := s.rows[s.i]
	s.i++
	if rej, ok := r.(common.Reject); ok {
		return common.Customer{}, &rej, nil
	}
	return r.(common.Customer), nil, nil
}

// memWriter stores chunks in memory, failing the chunk number failAt,
// unsure whether it was stored when maybe is set, and every chunk after
// it, surely not stored: the database went away. (Run may hand a writer
// the next chunk before it has taken in the failure.)
type memWriter struct {
	chunks [][]int64
	stored map[int64]bool
	failAt int
	maybe  bool
	failed bool
}

func (w *memWriter) WriteChunk(ctx context.Context, chunk []common.Customer) (common.ChunkResult, error) {
	if w.failed {
		return common.ChunkResult{}, errors.New("connection refused")
	}
	if w.failAt == len(w.chunks)+1 {
		w.failed = true
		err := errors.New("database went away")
		if w.maybe {
			return common.ChunkResult{}, &common.MaybeCommittedError{Result: common.ChunkResult{Stored: int64(len(chunk))}, Err: err}
		}
		return common.ChunkResult{}, err
	}
	var res common.ChunkResult
	var ids []int64
	for _, c := range chunk {
		ids = append(ids, c.ID)
		if w.stored[c.ID] {
			res.Duplicates++
			continue
		}
		w.stored[c.ID] = true
		res.Stored++
	}
	w.chunks = append(w.chunks, ids)
	return res, nil
}

type memRejects []common.Reject

func (m *memRejects) WriteReject(r common.Reject) error { *m = append(*m, r); return nil }

func TestRun(t *testing.T) {
	c := func(id int64) common.Customer { return common.Customer{ID: id} }
	rej := common.Reject{Line: 3, Reason: "bad", Text: "x"}
	tests := []struct {
		name     string
		rows     []any
		srcErr   error
		failAt   int
		maybe    bool
		want     Stats
		chunks   [][]int64
		rejects  int
		wantErr  string
		progress int
	}{
		{
			name:   "chunks of three",
			rows:   []any{c(1), c(2), c(3), c(4), c(5), c(6), c(7)},
			want:   Stats{Read: 7, Stored: 7},
			chunks: [][]int64{{1, 2, 3}, {4, 5, 6}, {7}},
		},
		{
			name:    "rejects are counted and reported, not stored",
			rows:    []any{c(1), rej, c(2), rej, rej, c(3), c(1)},
			want:    Stats{Read: 7, Stored: 3, Duplicates: 1, Rejected: 3},
			chunks:  [][]int64{{1, 2, 3}, {1}},
			rejects: 3,
		},
		{
			name:    "a failing chunk keeps the committed ones",
			rows:    []any{c(1), c(2), c(3), c(4), c(5), c(6), c(7)},
			failAt:  2,
			want:    Stats{Read: 3, Stored: 3},
			chunks:  [][]int64{{1, 2, 3}},
			wantErr: "store records 4 to 6: database went away",
		},
		{
			name:    "a chunk that may have committed is counted apart",
			rows:    []any{c(1), c(2), c(3), c(4), c(5), c(6), c(7)},
			failAt:  2,
			maybe:   true,
			want:    Stats{Read: 3, Stored: 3, MaybeStored: 3},
			chunks:  [][]int64{{1, 2, 3}},
			wantErr: "store records 4 to 6: database went away",
		},
		{
			name:    "a source error is fatal after what was read",
			rows:    []any{c(1), c(2), c(3), c(4)},
			srcErr:  errors.New("gzip: invalid checksum"),
			want:    Stats{Read: 4, Stored: 3},
			chunks:  [][]int64{{1, 2, 3}},
			wantErr: "read record 5: gzip: invalid checksum",
		},
		{
			name: "empty input",
			want: Stats{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &memWriter{stored: map[int64]bool{}, failAt: tt.failAt, maybe: tt.maybe}
			var rejects memRejects
			calls := 0
			st, err := Run(context.Background(), &sliceSource{rows: tt.rows, err: tt.srcErr}, []common.ChunkWriter{w}, &rejects,
				Options{ChunkSize: 3, Progress: func(Stats) { calls++ }})
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				assert.Equal(t, tt.srcErr != nil, errors.As(err, new(*ReadError)), "a ReadError when the source failed")
			} else {
				require.NoError(t, err)
				assert.Equal(t, len(tt.chunks)+1, calls, "progress after each chunk and at the end")
			}
			// A failed load's Read may run ahead of what was stored.
			if tt.wantErr == "" {
				assert.Equal(t, tt.want, st)
			} else {
				assert.Equal(t, tt.want.Stored, st.Stored)
				assert.Equal(t, tt.want.MaybeStored, st.MaybeStored)
			}
			assert.Equal(t, tt.chunks, w.chunks)
			assert.Len(t, rejects, tt.rejects)
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows := make([]any, 100)
	for i := range rows {
		rows[i] = common.Customer{ID: int64(i + 1)}
	}
	_, err := Run(ctx, &sliceSource{rows: rows}, []common.ChunkWriter{&memWriter{stored: map[int64]bool{}}}, nil, Options{ChunkSize: 10})
	require.ErrorIs(t, err, context.Canceled)
}
