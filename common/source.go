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

// ChunkResult is what storing one chunk did.
type ChunkResult struct {
	// Stored counts the customers inserted.
	Stored int64
	// Duplicates counts the customers skipped because their id was already
	// stored, or appeared earlier in the chunk.
	Duplicates int64
}

// ChunkWriter stores chunks of customers.
type ChunkWriter interface {
	// WriteChunk stores the customers whose ids are not stored yet, the
	// first occurrence of an id winning, and announces them to the
	// integrators, all in one transaction: when it returns an error nothing
	// of the chunk is stored.
	WriteChunk(ctx context.Context, chunk []Customer) (ChunkResult, error)
}

// RejectWriter records rejected input records.
type RejectWriter interface {
	WriteReject(r Reject) error
}
