package load

import (
	"context"
	"errors"
	"fmt"
	"io"

	"goquiz/common"
)

// DefaultChunkSize is the number of rows stored per transaction when no
// other is configured.
const DefaultChunkSize = 10000

// Options tunes Run.
type Options struct {
	// ChunkSize is the number of customers stored per transaction;
	// DefaultChunkSize when zero.
	ChunkSize int
	// Progress, if not nil, is called after every committed chunk with the
	// totals so far. It runs on the loading goroutine: keep it quick.
	Progress func(Stats)
}

// Stats counts what a load did. Read = Stored + Changed + Unchanged +
// Duplicates + Rejected once the load has finished without error.
type Stats struct {
	// Read counts the data records read, rejected ones included.
	Read int64
	// Stored counts the customers inserted: new ids.
	Stored int64
	// Changed counts the stored customers given new values, a new
	// version each (SyncUpsert only).
	Changed int64
	// Unchanged counts the stored customers read with the same values
	// (SyncUpsert only).
	Unchanged int64
	// Duplicates counts the customers not inserted because their id was
	// stored already (earlier in the input, by an earlier run, or by
	// another loader; in SyncUpsert, earlier in the input only).
	Duplicates int64
	// Rejected counts the records that could not become customers.
	Rejected int64
}

// Run reads src to its end and stores its customers in chunks through w,
// reporting rejected records to rejects (which may be nil). Reading the next
// chunk overlaps storing the previous one, and at most three chunks are in
// memory at once.
//
// On a fatal error (the source fails, a chunk cannot be stored, rejects
// cannot be written, ctx is cancelled) Run stops and returns it with the
// totals of what was committed: the chunk in progress is not stored, the
// chunks committed before it stay.
func Run(ctx context.Context, src common.Source, w common.ChunkWriter, rejects common.RejectWriter, opts Options) (Stats, error) {
	size := opts.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	full := make(chan chunk, 1)
	free := make(chan []common.Customer, 3)
	for range cap(free) {
		free <- make([]common.Customer, 0, size)
	}
	readDone := make(chan readResult, 1)
	go func() {
		defer close(full)
		readDone <- readChunks(ctx, src, rejects, size, full, free)
	}()

	var st Stats
	var writeErr error
	for c := range full {
		if writeErr == nil {
			res, err := w.WriteChunk(ctx, c.rows)
			if err != nil {
				writeErr = fmt.Errorf("store records %d to %d: %w", c.first, c.read, err)
				cancel()
			} else {
				st.Stored += res.Stored
				st.Changed += res.Changed
				st.Unchanged += res.Unchanged
				st.Duplicates += res.Duplicates
				st.Read, st.Rejected = c.read, c.rejected
				if opts.Progress != nil {
					opts.Progress(st)
				}
			}
		}
		free <- c.rows[:0]
	}
	r := <-readDone
	if writeErr != nil {
		return st, writeErr
	}
	st.Read, st.Rejected = r.read, r.rejected
	if r.err != nil {
		return st, r.err
	}
	if opts.Progress != nil {
		opts.Progress(st)
	}
	return st, nil
}

// chunk is a batch of customers on its way from the reader to the writer,
// with the reader's totals at the time it was cut.
type chunk struct {
	rows           []common.Customer
	first          int64 // ordinal of the chunk's first data record, from 1
	read, rejected int64
}

type readResult struct {
	read, rejected int64
	err            error
}

// readChunks reads src into chunks of size customers and sends them on full,
// taking empty buffers from free.
func readChunks(ctx context.Context, src common.Source, rejects common.RejectWriter, size int, full chan<- chunk, free <-chan []common.Customer) readResult {
	var r readResult
	var rows []common.Customer
	first := int64(1)
	send := func() bool {
		select {
		case full <- chunk{rows: rows, first: first, read: r.read, rejected: r.rejected}:
			rows = nil
			first = r.read + 1
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if rows == nil {
			select {
			case rows = <-free:
			case <-ctx.Done():
				r.err = ctx.Err()
				return r
			}
		}
		c, rej, err := src.Next()
		if errors.Is(err, io.EOF) {
			if len(rows) > 0 && !send() {
				r.err = ctx.Err()
			}
			return r
		}
		if err != nil {
			r.err = fmt.Errorf("read record %d: %w", r.read+1, err)
			return r
		}
		r.read++
		if rej != nil {
			r.rejected++
			if rejects != nil {
				if err := rejects.WriteReject(*rej); err != nil {
					r.err = fmt.Errorf("write reject of line %d: %w", rej.Line, err)
					return r
				}
			}
			continue
		}
		rows = append(rows, c)
		if len(rows) == size && !send() {
			r.err = ctx.Err()
			return r
		}
	}
}
