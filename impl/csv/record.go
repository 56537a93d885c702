package csv

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"goquiz/common"
)

// maxShown bounds the length of input values quoted in messages.
const maxShown = 40

// shorten cuts s to about maxShown bytes, between characters: a message
// quoting it stays valid UTF-8.
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return string(cutText([]byte(s), maxShown, false)) + "..."
}

// textColumns are the required columns whose values are kept as text.
var textColumns = [...]int{colFirstName, colLastName, colEmail, colPhone}

// customer checks the record just read and returns it as a customer or a
// reject.
func (r *Reader) customer() (common.Customer, *common.Reject, error) {
	text := r.text()
	id, reason := r.check(text)
	if reason != "" {
		return common.Customer{}, &common.Reject{Line: r.recLine, Reason: reason, Text: r.rejectText(text)}, nil
	}
	// The four strings share one allocation. They are built here rather
	// than by a helper returning the Customer: that call and copy cost
	// about 3% of BenchmarkReader's CPU time.
	b := r.scratch[:0]
	var end [len(textColumns)]int
	for i, c := range textColumns {
		b = append(b, r.field(r.col[c])...)
		end[i] = len(b)
	}
	r.scratch = b
	s := string(b)
	return common.Customer{
		ID:        id,
		FirstName: s[:end[0]],
		LastName:  s[end[0]:end[1]],
		Email:     s[end[1]:end[2]],
		Phone:     s[end[2]:end[3]],
	}, nil, nil
}

// rejectText returns the text of a rejected record for its reject: cut to
// the size limit, and valid UTF-8 (see appendText).
func (r *Reader) rejectText(text []byte) string {
	if r.over {
		text = r.raw // as text but not yet cut: the cut may move back
	}
	text = cutText(text, r.max, r.decoded)
	if !r.decoded && utf8.Valid(text) {
		return string(text)
	}
	return string(appendText(make([]byte, 0, len(text)+16), text, r.decoded))
}

// check returns the id of the record just read, whose text is text, or why
// it is rejected: it is too large, does not decode, is malformed, has
// another number of fields than the header, an invalid id, or values that
// cannot be stored.
func (r *Reader) check(text []byte) (int64, string) {
	syntax := r.syntaxError()
	undecodable := r.undecodable(text)
	switch {
	case r.tooLarge(text):
		reason := fmt.Sprintf("record is larger than %d bytes", r.max)
		if undecodable != "" {
			syntax = undecodable
		}
		if syntax != "" {
			reason += " (" + syntax + ")"
		}
		return 0, reason
	case undecodable != "":
		// Before the syntax: the bytes that did not decode may have
		// been a quote or a delimiter.
		return 0, undecodable
	case syntax != "":
		return 0, syntax
	case r.nf != r.nfield:
		return 0, fmt.Sprintf("has %d fields, header has %d", r.nf, r.nfield)
	}
	id, reason := parseID(r.field(r.col[colID]))
	if reason == "" {
		reason = r.storable()
	}
	return id, reason
}

// undecodable says where the record just read, whose text is text, holds
// bytes that do not decode in the input's encoding, and which: the first
// field holding them and its first run of them, as in
// `last_name is not valid windows-1253: \xaa`; "" when it decodes.
func (r *Reader) undecodable(text []byte) string {
	if !r.decoded {
		return ""
	}
	i := bytes.IndexByte(text, marker)
	if i < 0 {
		return ""
	}
	where := "the record"
	for f := range r.ends {
		if bytes.IndexByte(r.field(f), marker) >= 0 {
			where = r.fieldName(f)
			break
		}
	}
	run := text[i:]
	for n := 0; n < len(run); n += 3 {
		if n == 3*maxShownBytes || run[n] != marker || n+3 > len(run) {
			run = run[:n]
			break
		}
	}
	return fmt.Sprintf("%s is not valid %s: %s", where, r.enc.Name(), appendText(nil, run, true))
}

// maxShownBytes bounds the bytes that did not decode shown in a reason.
const maxShownBytes = 8

// fieldName names field f of the current record for a message: the
// required column it is, or its number.
func (r *Reader) fieldName(f int) string {
	for c, i := range r.col {
		if i == f {
			return columns[c]
		}
	}
	return fmt.Sprintf("field %d", f+1)
}

// syntaxError says what makes the record just read malformed CSV: a quote
// that never closes, or the first error the scan found; "" when nothing.
func (r *Reader) syntaxError() string {
	if r.openLine > 0 {
		return fmt.Sprintf("quote opened on line %d never closes", r.openLine)
	}
	return r.bad
}

// storable returns why the record's values cannot be stored as PostgreSQL
// text (invalid UTF-8, or a NUL byte), or "".
func (r *Reader) storable() string {
	for _, c := range textColumns {
		f := r.field(r.col[c])
		// Decoded text is UTF-8 but where undecodable found bytes that
		// did not decode: it is not checked again (utf8.Valid took 11%
		// of the CPU samples of BenchmarkReaderSettings/windows-1252).
		if !r.decoded && !utf8.Valid(f) {
			return columns[c] + " is not valid UTF-8"
		}
		if bytes.IndexByte(f, 0) >= 0 {
			return columns[c] + " contains a NUL byte"
		}
	}
	return ""
}

// parseID parses an id: a positive decimal integer fitting int64, digits
// only. It returns the reason why b is not an id, or "".
func parseID(b []byte) (int64, string) {
	// n*10+d fits int64 unless n passes cutoff, or equals it and d passes
	// the last digit of MaxInt64.
	const cutoff, last = math.MaxInt64 / 10, math.MaxInt64 % 10
	var n uint64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, notID(b)
		}
		d := uint64(c - '0')
		if overflow || n > cutoff || n == cutoff && d > last {
			overflow = true
			continue
		}
		n = n*10 + d
	}
	switch {
	case overflow:
		return 0, fmt.Sprintf("id %s is out of range (largest id is %d)", shorten(strconv.Quote(string(b))), int64(math.MaxInt64))
	case n == 0:
		return 0, notID(b)
	}
	return int64(n), ""
}

// notID says that b is not a positive integer.
func notID(b []byte) string {
	return fmt.Sprintf("id %s is not a positive integer", shorten(strconv.Quote(string(b))))
}
