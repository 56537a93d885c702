package main

import (
	"errors"
	"fmt"
	"os"

	"goquiz/common"
	"goquiz/impl/csv"
)

// usageError is an error of the arguments or the configuration, found
// only once the input is open: the parser exits with cli.ExitUsage.
type usageError struct{ error }

// checkRejects returns a usageError when the rejects file path is the
// input in itself, by any name or as standard input: creating it would
// truncate the input while it is read.
func checkRejects(path string, in *input) error {
	f, ok := in.r.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil // the input's own read says why
	}
	if ri, err := os.Stat(path); err == nil && os.SameFile(fi, ri) {
		return usageError{fmt.Errorf("REJECTS %s is the input %s: it would be overwritten while it is read; name another file", path, in.name)}
	}
	return nil
}

// rejectsFile is the file REJECTS names, open for writing.
type rejectsFile struct {
	*csv.RejectWriter
	f *os.File
}

// createRejects creates the rejects file path and writes its header, so
// that a file that cannot be written (a missing directory, no right to
// write, a full disk) stops the parser before anything is stored.
func createRejects(path string) (*rejectsFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create the rejects file (REJECTS): %w", err)
	}
	rw, err := csv.NewRejectWriter(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write the rejects file (REJECTS): %w", errors.Unwrap(err))
	}
	return &rejectsFile{RejectWriter: rw, f: f}, nil
}

// WriteReject writes one rejected record; the error names the setting.
func (r *rejectsFile) WriteReject(rej common.Reject) error {
	if err := r.RejectWriter.WriteReject(rej); err != nil {
		return fmt.Errorf("write the rejects file (REJECTS): %w", err)
	}
	return nil
}

// Close writes what is buffered and closes the file; the error says what
// could not be written.
func (r *rejectsFile) Close() error {
	err := r.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the rejects file (REJECTS): %w", err)
	}
	return nil
}
