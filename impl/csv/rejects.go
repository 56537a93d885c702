package csv

import (
	"bufio"
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
type RejectWriter struct {
	buf *bufio.Writer
	n   int64
	err error
}

// NewRejectWriter writes the header to w and returns a writer of rejects to
// it. Call Flush when done.
func NewRejectWriter(w io.Writer) (*RejectWriter, error) {
	rw := &RejectWriter{buf: bufio.NewWriter(w)}
	if _, err := rw.buf.WriteString("line,reason,record\n"); err != nil {
		return nil, fmt.Errorf("write rejects header: %w", err)
	}
	return rw, nil
}

// WriteReject writes one rejected record.
func (rw *RejectWriter) WriteReject(r common.Reject) error {
	if rw.err != nil {
		return rw.err
	}
	rw.n++
	b := rw.buf
	b.WriteString(strconv.FormatInt(r.Line, 10))
	b.WriteByte(',')
	writeCell(b, r.Reason)
	b.WriteByte(',')
	writeCell(b, r.Text)
	if err := b.WriteByte('\n'); err != nil {
		rw.err = fmt.Errorf("write reject: %w", err)
		return rw.err
	}
	return nil
}

// writeCell writes s as a quoted CSV cell, valid UTF-8 and defused.
func writeCell(b *bufio.Writer, s string) {
	if !utf8.ValidString(s) {
		s = string(appendText(nil, []byte(s), false))
	}
	s = strings.ReplaceAll(s, "\x00", `\x00`)
	s = Defuse(s)
	b.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		b.WriteByte('"')
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('"')
}

// Count returns how many rejects were written.
func (rw *RejectWriter) Count() int64 { return rw.n }

// Flush writes any buffered rejects to the underlying writer.
func (rw *RejectWriter) Flush() error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.buf.Flush(); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	return nil
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
