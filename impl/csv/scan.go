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

// field returns the value of field i of the current record.
func (r *Reader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

// text returns the original text of the current record without its line
// break, cut to max bytes when longer.
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

// endField ends the current field.
func (r *Reader) endField() {
	if !r.over {
		r.ends = append(r.ends, len(r.data))
	}
	r.nf++
	r.fstart = len(r.data)
}

// fail records a malformed-CSV error unless one was recorded already.
func (r *Reader) fail(format string, args ...any) {
	if r.bad == "" {
		r.bad = fmt.Sprintf(format, args...)
	}
}

// readRecord reads the next record, which ends at a line break outside
// quotes, at the end of the line where it was found malformed, or at the
// end of the input. It keeps the first max+2 bytes of its text in r.raw and,
// when it fits, its fields in r.data and r.ends.
func (r *Reader) readRecord() (int, error) {
	if r.eof {
		return recEnd, nil
	}
	r.raw, r.data, r.ends = r.raw[:0], r.data[:0], r.ends[:0]
	r.over, r.fstart, r.nf, r.bad, r.openLine = false, 0, 0, "", 0
	r.recLine = r.line
	limit := r.max + 2 // room for a CRLF
	st := stFieldStart
	var quoteLine int64
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			r.err = fmt.Errorf("read input at line %d: %w", r.line, err)
			return 0, r.err
		}
		if !r.over {
			if len(r.raw)+len(chunk) <= limit {
				r.raw = append(r.raw, chunk...)
			} else {
				r.raw = append(r.raw, chunk[:limit-len(r.raw)]...)
				r.over = true
			}
		}
		n := len(chunk)
		eol := n > 0 && chunk[n-1] == '\n'
		for i := 0; i < n; {
			switch st {
			case stFieldStart:
				if chunk[i] == '"' {
					st = stQuoted
					quoteLine = r.line
					i++
				} else {
					st = stUnquoted
				}
			case stUnquoted:
				rest := chunk[i:]
				j := bytes.IndexByte(rest, ',')
				seg := rest
				if j >= 0 {
					seg = rest[:j]
				} else if eol {
					seg = rest[:len(rest)-1]
				}
				if bytes.IndexByte(seg, '"') >= 0 {
					r.fail("bare quote in unquoted field %d", r.nf+1)
					st = stSkip
					i = n
					break
				}
				if !r.over {
					r.data = append(r.data, seg...)
				}
				if j < 0 {
					i = n
					break
				}
				r.endField()
				st = stFieldStart
				i += j + 1
			case stQuoted:
				rest := chunk[i:]
				j := bytes.IndexByte(rest, '"')
				if j < 0 {
					if !r.over {
						r.data = append(r.data, rest...)
					}
					i = n
					break
				}
				if !r.over {
					r.data = append(r.data, rest[:j]...)
				}
				st = stQuoteAfter
				i += j + 1
			case stQuoteAfter:
				switch chunk[i] {
				case '"':
					if !r.over {
						r.data = append(r.data, '"')
					}
					st = stQuoted
				case ',':
					r.endField()
					st = stFieldStart
				case '\n':
					// The record ends: it is the chunk's last byte.
				case '\r':
					st = stQuoteAfterCR
				default:
					r.fail("text after closing quote in field %d", r.nf+1)
					st = stSkip
					i = n
					continue
				}
				i++
			case stQuoteAfterCR:
				if chunk[i] != '\n' {
					r.fail("text after closing quote in field %d", r.nf+1)
					st = stSkip
					i = n
					continue
				}
				i++
			case stSkip:
				i = n
			}
		}
		if eol {
			r.line++
			if st != stQuoted {
				return r.endRecord(st), nil
			}
			continue
		}
		if err == io.EOF {
			r.eof = true
			switch {
			case len(r.raw) == 0:
				return recEnd, nil
			case st == stQuoted:
				r.openLine = quoteLine
				return recData, nil
			}
			return r.endRecord(st), nil
		}
	}
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
