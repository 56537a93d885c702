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

// chunksBytes bounds the values of the chunks in memory at once: a chunk
// ends at ChunkSize rows or at its share of chunksBytes, whichever comes
// first. Rows of an export are about 100 bytes, so that 10,000 of them
// take 1 MiB and the bound never cuts a chunk short. Rows of 2 kB (40,000
// of them) took 91 MiB of the parser's 64 without it (three chunks of 20
// MB in memory, with their copies); with it 33 MiB, and 59 MiB in
// SYNC_MODE=upsert with every row changed (16 MiB: 52 and 108).
const chunksBytes = 8 << 20

// rowBytes is what a customer's values take in memory, about.
func rowBytes(c common.Customer) int {
	return 64 + len(c.FirstName) + len(c.LastName) + len(c.Email) + len(c.Phone)
}

// Options tunes Run.
type Options struct {
	// ChunkSize is the number of customers stored per transaction, at
	// most (fewer when their values pass their share of chunksBytes);
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
	// MaybeStored counts, after an error, the customers of the chunks
	// whose commit was sent and whose answer was lost, unchecked: they may
	// be stored (new ids) or given new values (changed), or not. They are
	// not in the counts above.
	MaybeStored int64
}

// Run reads src to its end and stores its customers in chunks through ws,
// reporting rejected records to rejects (which may be nil). Reading the next
// chunk overlaps storing the previous ones: with several writers, as many
// chunks are stored at once, chunk i by ws[i % len(ws)], each in its own
// transaction; at most len(ws)+2 chunks are in memory at once.
//
// Chunks stored at once may commit in any order, so each chunk leaves out
// the ids of the chunks that may still be storing beside it, as
// duplicates: the first occurrence of an id in src wins whatever the
// order of the commits (an id in an earlier chunk is stored by it, or was
// stored before). A writer stores its chunks in order, so a chunk never
// meets one len(ws) or more before it.
//
// On a fatal error (the source fails, a chunk cannot be stored, rejects
// cannot be written, ctx is cancelled) Run stops and returns it with the
// totals of what was committed: the chunks in progress are not stored,
// the chunks committed before stay. A chunk whose commit answer was lost
// and could not be checked is counted apart, as maybe stored.
func Run(ctx context.Context, src common.Source, ws []common.ChunkWriter, rejects common.RejectWriter, opts Options) (Stats, error) {
	if len(ws) == 0 {
		return Stats{}, errors.New("load: no chunk writer")
	}
	size := opts.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	full := make(chan chunk, 1)
	free := make(chan []common.Customer, len(ws)+2)
	for range cap(free) {
		free <- make([]common.Customer, 0, size)
	}
	readDone := make(chan readResult, 1)
	go func() {
		defer close(full)
		readDone <- readChunks(ctx, src, rejects, size, max(chunksBytes/cap(free), 1<<20), full, free)
	}()

	s := newStorer(ctx, ws)
	var (
		st       Stats
		writeErr error
		next     *chunk // read, not yet handed to its writer
		reading  = true
		seq      int
	)
	// done takes in a writer's answer. A chunk committed after another
	// failed is counted all the same: it is stored.
	done := func(r stored) {
		s.busy--
		free <- r.rows[:0]
		if r.err != nil {
			var maybe *common.MaybeCommittedError
			if errors.As(r.err, &maybe) {
				st.MaybeStored += maybe.Result.Stored + maybe.Result.Changed
			}
			if writeErr == nil {
				writeErr = fmt.Errorf("store records %d to %d: %w", r.first, r.read, r.err)
				cancel()
			}
			return
		}
		st.Stored += r.res.Stored
		st.Changed += r.res.Changed
		st.Unchanged += r.res.Unchanged
		st.Duplicates += r.res.Duplicates + r.left
		st.Read, st.Rejected = s.committed(r.chunk)
		if writeErr == nil && opts.Progress != nil {
			opts.Progress(st)
		}
	}
	for reading || next != nil || s.busy > 0 {
		switch {
		case next != nil && writeErr != nil:
			free <- next.rows[:0]
			next = nil
		case next != nil:
			select {
			case s.in[next.seq%len(ws)] <- *next:
				s.busy++
				next = nil
			case r := <-s.out:
				done(r)
			}
		case reading:
			select {
			case c, ok := <-full:
				switch {
				case !ok:
					reading = false
				case writeErr != nil:
					free <- c.rows[:0]
				default:
					c.seq = seq
					seq++
					s.leaveOut(&c)
					next = &c
				}
			case r := <-s.out:
				done(r)
			}
		default:
			done(<-s.out)
		}
	}
	s.stop()
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

// A ReadError is the fatal error of reading the source, which Run
// returns: the input is broken there (a gzip stream cut short) or could
// not be read. A rerun of the same input stops at the same place.
type ReadError struct {
	// Record is the ordinal of the data record that could not be read,
	// from 1.
	Record int64
	// Err is the source's error.
	Err error
}

// Error returns the record's ordinal and the source's error.
func (e *ReadError) Error() string { return fmt.Sprintf("read record %d: %v", e.Record, e.Err) }

// Unwrap returns Err.
func (e *ReadError) Unwrap() error { return e.Err }

// chunk is a batch of customers on its way from the reader to the writer,
// with the reader's totals at the time it was cut.
type chunk struct {
	rows           []common.Customer
	first          int64 // ordinal of the chunk's first data record, from 1
	read, rejected int64
	seq            int   // the chunk's number, from 0
	left           int64 // rows left out as ids of the chunks before it (see Run)
}

type readResult struct {
	read, rejected int64
	err            error
}

// readChunks reads src into chunks of size customers, or fewer whose
// values take maxBytes (see rowBytes), and sends them on full, taking
// empty buffers from free.
func readChunks(ctx context.Context, src common.Source, rejects common.RejectWriter, size, maxBytes int, full chan<- chunk, free <-chan []common.Customer) readResult {
	var r readResult
	var rows []common.Customer
	bytes := 0
	first := int64(1)
	send := func() bool {
		select {
		case full <- chunk{rows: rows, first: first, read: r.read, rejected: r.rejected}:
			rows, bytes = nil, 0
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
			r.err = &ReadError{Record: r.read + 1, Err: err}
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
		if bytes += rowBytes(c); (len(rows) == size || bytes >= maxBytes) && !send() {
			r.err = ctx.Err()
			return r
		}
	}
}
