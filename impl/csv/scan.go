package csv

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// Parser states within a record.
const (
	stFieldStart   = iota // at the start of a field
	stUnquoted            // inside an unquoted field
	stQuoted              // inside a quoted field
	stQuoteAfter          // after a quote inside a quoted field
	stQuoteAfterCR        // after a closing quote and a CR
	stSkip                // malformed: skipping to the end of the line
)

// Kinds of records read by readRecord.
const (
	recEnd   = iota // end of input, no record
	recBlank        // a blank line
	recData         // a record
)

// readRecord reads the next record, which ends at a line break outside
// quotes, at the end of the line where it was found malformed, or at the
// end of the input. It keeps the first max+2 bytes of its text in r.raw and,
// when it fits, its fields in r.data and r.ends.
func (r *Reader) readRecord() (int, error) {
	if r.eof {
		return recEnd, nil
	}
	r.startRecord()
	st := stFieldStart
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			r.err = fmt.Errorf("read input at line %d: %w", r.line, err)
			return 0, r.err
		}
		r.keep(chunk)
		st = r.scan(st, chunk)
		switch {
		case len(chunk) > 0 && chunk[len(chunk)-1] == '\n':
			r.line++
			if st != stQuoted {
				return r.endRecord(st), nil
			}
		case err == io.EOF:
			return r.endInput(st), nil
		}
	}
}

// startRecord empties the current record for one starting on the next
// line to read.
func (r *Reader) startRecord() {
	r.raw, r.data, r.ends = r.raw[:0], r.data[:0], r.ends[:0]
	r.over, r.fstart, r.nf, r.bad, r.openLine = false, 0, 0, "", 0
	r.recLine = r.line
}

// keep appends chunk to the record's text while it fits in max+2 bytes
// (the limit and a CRLF). The record is over once it does not: its text is
// cut there, and its values are no longer kept.
func (r *Reader) keep(chunk []byte) {
	if r.over {
		return
	}
	limit := r.max + 2
	if len(r.raw)+len(chunk) <= limit {
		r.raw = append(r.raw, chunk...)
		return
	}
	r.raw = append(r.raw, chunk[:limit-len(r.raw)]...)
	r.over = true
}

// scan runs the state machine over chunk, a line or a part of one, from
// state st, and returns the state at its end. A line break can only be the
// chunk's last byte.
func (r *Reader) scan(st int, chunk []byte) int {
	for len(chunk) > 0 {
		var n int
		switch st {
		case stFieldStart:
			// Here rather than in a function of its own: a call per field
			// cost about 2% of BenchmarkReader's CPU time.
			if chunk[0] == '"' {
				r.quoteLine = r.line
				st, n = stQuoted, 1
				break
			}
			fallthrough
		case stUnquoted:
			st, n = r.unquoted(chunk)
		case stQuoted:
			st, n = r.quoted(chunk)
		case stQuoteAfter:
			st, n = r.quoteAfter(chunk)
		case stQuoteAfterCR:
			st, n = r.quoteAfterCR(chunk)
		case stSkip:
			n = len(chunk)
		}
		chunk = chunk[n:]
	}
	return st
}

// The state functions below each read the start of rest, which is never
// empty, and return the next state and how many bytes they consumed.

// unquoted reads an unquoted field up to the delimiter that ends it or the
// end of rest. A quote in it makes the record malformed.
func (r *Reader) unquoted(rest []byte) (int, int) {
	j := bytes.IndexByte(rest, r.delim)
	seg := rest
	if j >= 0 {
		seg = rest[:j]
	} else if rest[len(rest)-1] == '\n' {
		seg = rest[:len(rest)-1]
	}
	if bytes.IndexByte(seg, '"') >= 0 {
		return r.malformed(rest, "bare quote in unquoted field")
	}
	r.value(seg)
	if j < 0 {
		return stUnquoted, len(rest)
	}
	r.endField()
	return stFieldStart, j + 1
}

// quoted reads a quoted field's value up to the next quote or the end of
// rest.
func (r *Reader) quoted(rest []byte) (int, int) {
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		r.value(rest)
		return stQuoted, len(rest)
	}
	r.value(rest[:j])
	return stQuoteAfter, j + 1
}

// quoteAfter reads what follows a quote inside a quoted field: a second
// quote (an escaped one), or the delimiter or line break that ends the
// field.
func (r *Reader) quoteAfter(rest []byte) (int, int) {
	if rest[0] == r.delim {
		r.endField()
		return stFieldStart, 1
	}
	switch rest[0] {
	case '"':
		if !r.over {
			r.data = append(r.data, '"')
		}
		return stQuoted, 1
	case '\n':
		// The record ends: it is the chunk's last byte.
		return stQuoteAfter, 1
	case '\r':
		return stQuoteAfterCR, 1
	}
	return r.malformed(rest, "text after closing quote in field")
}

// quoteAfterCR reads what follows a closing quote and a CR, which can only
// be the LF of a CRLF.
func (r *Reader) quoteAfterCR(rest []byte) (int, int) {
	if rest[0] != '\n' {
		return r.malformed(rest, "text after closing quote in field")
	}
	return stQuoteAfterCR, 1
}

// malformed records what makes the record malformed in the current field,
// unless a reason was recorded already, and skips rest: the record ends
// with its line.
func (r *Reader) malformed(rest []byte, what string) (int, int) {
	if r.bad == "" {
		r.bad = fmt.Sprintf("%s %d", what, r.nf+1)
	}
	return stSkip, len(rest)
}

// value appends b to the current field's value, unless the record is over.
func (r *Reader) value(b []byte) {
	if !r.over {
		r.data = append(r.data, b...)
	}
}

// endField ends the current field.
func (r *Reader) endField() {
	if !r.over {
		r.ends = append(r.ends, len(r.data))
	}
	r.nf++
	r.fstart = len(r.data)
}

// endRecord ends the current record, outside quotes, in state st.
func (r *Reader) endRecord(st int) int {
	if st == stUnquoted && !r.over {
		// Unquoted values are raw text: drop the CR of a CRLF.
		if n := len(r.data); n > r.fstart && r.data[n-1] == '\r' {
			r.data = r.data[:n-1]
		}
	}
	if st != stSkip {
		r.endField()
	}
	if !r.over && len(r.text()) == 0 {
		return recBlank
	}
	return recData
}

// endInput ends the record at the end of the input, in state st.
func (r *Reader) endInput(st int) int {
	r.eof = true
	switch {
	case len(r.raw) == 0:
		return recEnd
	case st == stQuoted:
		r.openLine = r.quoteLine
		return recData
	}
	return r.endRecord(st)
}

// field returns the value of field i of the current record.
func (r *Reader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

// tooLarge reports whether the current record, whose text is text, is
// larger than the limit.
func (r *Reader) tooLarge(text []byte) bool {
	return r.over || len(text) > r.max
}

// text returns the original text of the current record without its line
// break. It is cut to max bytes when the record is over; otherwise it may be
// up to two bytes longer than max (see tooLarge).
func (r *Reader) text() []byte {
	t := r.raw
	if r.over {
		return t[:r.max]
	}
	if n := len(t); n > 0 && t[n-1] == '\n' {
		t = t[:n-1]
		if n := len(t); n > 0 && t[n-1] == '\r' {
			t = t[:n-1]
		}
	} else if n > 0 && t[n-1] == '\r' && r.openLine == 0 {
		t = t[:n-1] // a CR at the end of the input ends the record
	}
	return t
}
