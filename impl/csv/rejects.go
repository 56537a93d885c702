package csv

import (
	"bufio"
	stdcsv "encoding/csv"
	"fmt"
	"io"
	"strconv"

	"goquiz/common"
)

// RejectWriter writes rejected records as CSV with the header
// "line,reason,record": the line where the record starts (the input's header
// being line 1), why it was rejected, and its original text. It implements
// common.RejectWriter.
type RejectWriter struct {
	buf *bufio.Writer
	w   *stdcsv.Writer
	n   int64
}

// NewRejectWriter writes the header to w and returns a writer of rejects to
// it. Call Flush when done.
func NewRejectWriter(w io.Writer) (*RejectWriter, error) {
	buf := bufio.NewWriter(w)
	rw := &RejectWriter{buf: buf, w: stdcsv.NewWriter(buf)}
	if err := rw.w.Write([]string{"line", "reason", "record"}); err != nil {
		return nil, fmt.Errorf("write rejects header: %w", err)
	}
	return rw, nil
}

// WriteReject writes one rejected record.
func (rw *RejectWriter) WriteReject(r common.Reject) error {
	rw.n++
	if err := rw.w.Write([]string{strconv.FormatInt(r.Line, 10), r.Reason, r.Text}); err != nil {
		return fmt.Errorf("write reject: %w", err)
	}
	return nil
}

// Count returns how many rejects were written.
func (rw *RejectWriter) Count() int64 { return rw.n }

// Flush writes any buffered rejects to the underlying writer.
func (rw *RejectWriter) Flush() error {
	rw.w.Flush()
	if err := rw.w.Error(); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	if err := rw.buf.Flush(); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	return nil
}
