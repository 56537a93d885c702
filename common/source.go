package common

import "context"

// Reject is an input record that could not become a customer: the line where
// it starts (the header being line 1), a specific reason and the record's
// original text.
type Reject struct {
	Line   int64
	Reason string
	Text   string
}

// Source yields the customers of one input in order.
type Source interface {
	// Next reads the next record. It returns a customer with rej == nil, or
	// a rejected record in rej; io.EOF once the input is read to its end;
	// any other error is fatal for the input.
	Next() (c Customer, rej *Reject, err error)
}

// Progresser is implemented by sources that can tell how far they are.
type Progresser interface {
	// Progress returns the bytes consumed so far and the input's total size,
	// or a total of -1 when it is not known.
	Progress() (done, total int64)
}

// ChunkResult is what storing one chunk did. Stored + Changed + Unchanged
// + Duplicates is the number of customers in the chunk.
type ChunkResult struct {
	// Stored counts the customers inserted: new ids.
	Stored int64
	// Changed counts the stored customers whose values the chunk replaced
	// with a new version (SyncUpsert only).
	Changed int64
	// Unchanged counts the stored customers the chunk held with the same
	// values (SyncUpsert only): not stored again, not sent.
	Unchanged int64
	// Duplicates counts the customers skipped because their id was already
	// stored (SyncInsert), or appeared earlier in the chunk or the input.
	Duplicates int64
}

// Add adds the counts of o to r.
func (r *ChunkResult) Add(o ChunkResult) {
	r.Stored += o.Stored
	r.Changed += o.Changed
	r.Unchanged += o.Unchanged
	r.Duplicates += o.Duplicates
}

// ChunkWriter stores chunks of customers.
type ChunkWriter interface {
	// WriteChunk stores the customers whose ids are not stored yet (and,
	// in SyncUpsert, the new values of stored ones), the first occurrence
	// of an id in the input winning, and announces them to the
	// integrators, all in one transaction: when it returns an error nothing
	// of the chunk is stored, unless the error is a *MaybeCommittedError.
	WriteChunk(ctx context.Context, chunk []Customer) (ChunkResult, error)
}

// MaybeCommittedError is the failure of a chunk whose commit was sent and
// whose answer was lost, when whether it committed could not be learnt:
// the chunk may be stored, or not.
type MaybeCommittedError struct {
	// Result is what storing the chunk did if it committed.
	Result ChunkResult
	// Err is why the chunk failed.
	Err error
}

// Error returns Err's text.
func (e *MaybeCommittedError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *MaybeCommittedError) Unwrap() error { return e.Err }

// RejectWriter records rejected input records.
type RejectWriter interface {
	WriteReject(r Reject) error
}
