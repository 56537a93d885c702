package csv

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"goquiz/common"
)

// RejectWriter writes rejected records as CSV with the header
// "line,reason,record": the line where the record starts (the input's header
// being line 1), why it was rejected, and its text as read. It implements
// common.RejectWriter.
//
// The file is UTF-8 and comma-separated whatever the input's encoding and
// delimiter, and it is made to be opened in a spreadsheet safely, as
// OWASP's CSV-injection advice says: every cell but the line number is
// quoted, and a value a spreadsheet would run as a formula, one beginning
// with =, +, - or @, gets a ' before it (see Defuse). A byte that is not
// UTF-8, and a NUL, which makes tools take the file for binary, is
// written as \x and two hex digits.
//
// It writes CSV itself rather than with encoding/csv's Writer, which
// quotes a field only when the field needs it: OWASP's advice is to quote
// every cell, so that a spreadsheet splitting lines at another separator
// (";" in much of Europe, where semicolon inputs come from) still sees the
// record as one cell.
//
// Rows are written whole: when a write fails (a full disk), the file is
// cut back to the end of the last row written whole, when the writer can
// be truncated (an *os.File can), so that it stays a valid CSV file in
// valid UTF-8 whatever was lost.
type RejectWriter struct {
	w       io.Writer
	buf     []byte // whole rows not written yet
	ends    []int  // where each row in buf ends
	written int64  // bytes of whole rows written to w
	n       int64
	err     error
}

// rejectsBuffer is how many bytes of rows RejectWriter keeps before it
// writes them.
const rejectsBuffer = 64 << 10

// A truncater can be cut back to a size, as *os.File can.
type truncater interface {
	Truncate(size int64) error
}

// NewRejectWriter writes the header to w at once, so that a file that
// cannot be written fails before anything is read, and returns a writer
// of rejects to it. Call Flush when done.
func NewRejectWriter(w io.Writer) (*RejectWriter, error) {
	rw := &RejectWriter{w: w, buf: make([]byte, 0, rejectsBuffer)}
	rw.buf = append(rw.buf, "line,reason,record\n"...)
	rw.ends = append(rw.ends, len(rw.buf))
	if err := rw.write(); err != nil {
		return nil, fmt.Errorf("write rejects header: %w", err)
	}
	return rw, nil
}

// WriteReject writes one rejected record. An error is that of the
// underlying writer, and is returned again by every later call.
func (rw *RejectWriter) WriteReject(r common.Reject) error {
	if rw.err != nil {
		return rw.err
	}
	rw.n++
	b := strconv.AppendInt(rw.buf, r.Line, 10)
	b = append(b, ',')
	b = appendCell(b, r.Reason)
	b = append(b, ',')
	b = appendCell(b, r.Text)
	rw.buf = append(b, '\n')
	rw.ends = append(rw.ends, len(rw.buf))
	if len(rw.buf) < rejectsBuffer {
		return nil
	}
	return rw.write()
}

// write writes the buffered rows to the underlying writer. When that
// fails, it cuts the file back to the end of the last row written whole,
// where it can, and keeps the error for every later call.
func (rw *RejectWriter) write() error {
	if rw.err != nil {
		return rw.err
	}
	n, err := rw.w.Write(rw.buf)
	if err == nil && n < len(rw.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		whole := 0
		for _, end := range rw.ends {
			if end <= n {
				whole = end
			}
		}
		if t, ok := rw.w.(truncater); ok && n > whole {
			if terr := t.Truncate(rw.written + int64(whole)); terr != nil {
				err = fmt.Errorf("%w (and cutting off the part of a row written: %w)", err, terr)
			}
		}
		rw.err = err
		return err
	}
	rw.written += int64(n)
	rw.buf, rw.ends = rw.buf[:0], rw.ends[:0]
	if cap(rw.buf) > 2*rejectsBuffer { // after a record near MAX_RECORD_BYTES
		rw.buf = make([]byte, 0, rejectsBuffer)
	}
	return nil
}

// appendCell appends s to b as a quoted CSV cell, valid UTF-8 and
// defused.
func appendCell(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string(appendText(nil, []byte(s), false))
	}
	s = strings.ReplaceAll(s, "\x00", `\x00`)
	s = Defuse(s)
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

// Count returns how many rejects were written.
func (rw *RejectWriter) Count() int64 { return rw.n }

// Flush writes any buffered rejects to the underlying writer.
func (rw *RejectWriter) Flush() error {
	if len(rw.buf) == 0 || rw.err != nil {
		return rw.err
	}
	return rw.write()
}

// Defuse returns s with a ' put before each value in it that a
// spreadsheet would run as a formula: an =, +, - or @ that begins s, or
// follows a character a spreadsheet may split cells at (, ; tab | or a
// line break), spaces and quotes between them left as they are. The value
// then reads as text, as OWASP's CSV-injection advice has it; removing
// that ' gives s back.
func Defuse(s string) string {
	if !strings.ContainsAny(s, "=+-@") {
		return s
	}
	var b strings.Builder
	start := true // where a spreadsheet's cell may begin
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '=', '+', '-', '@':
			if start {
				b.WriteByte('\'')
			}
			start = false
		case ',', ';', '\t', '|', '\r', '\n':
			start = true
		case ' ', '"':
		default:
			start = false
		}
		b.WriteByte(c)
	}
	return b.String()
}
