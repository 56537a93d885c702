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

// shorten cuts s to about maxShown bytes.
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "..."
}

// customer checks the record just read and returns it as a customer or a
// reject.
func (r *Reader) customer() (common.Customer, *common.Reject, error) {
	reason := ""
	text := r.text()
	switch {
	case r.over || len(text) > r.max:
		text = text[:r.max]
		reason = fmt.Sprintf("record is larger than %d bytes", r.max)
		if r.openLine > 0 {
			reason += fmt.Sprintf(" (quote opened on line %d never closes)", r.openLine)
		} else if r.bad != "" {
			reason += " (" + r.bad + ")"
		}
	case r.openLine > 0:
		reason = fmt.Sprintf("quote opened on line %d never closes", r.openLine)
	case r.bad != "":
		reason = r.bad
	case r.nf != r.nfield:
		reason = fmt.Sprintf("has %d fields, header has %d", r.nf, r.nfield)
	}
	var id int64
	if reason == "" {
		id, reason = parseID(r.field(r.col[colID]))
	}
	if reason == "" {
		reason = r.storable()
	}
	if reason != "" {
		return common.Customer{}, &common.Reject{Line: r.recLine, Reason: reason, Text: string(text)}, nil
	}
	// One allocation for the four strings.
	b := r.scratch[:0]
	var end [4]int
	for i, c := range [...]int{colFirstName, colLastName, colEmail, colPhone} {
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

// storable returns why the record's values cannot be stored as PostgreSQL
// text (invalid UTF-8, or a NUL byte), or "".
func (r *Reader) storable() string {
	for _, c := range [...]int{colFirstName, colLastName, colEmail, colPhone} {
		f := r.field(r.col[c])
		if !utf8.Valid(f) {
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
	var n uint64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Sprintf("id %s is not a positive integer", shorten(strconv.Quote(string(b))))
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxInt64 {
			overflow = true
			n = math.MaxInt64 // keep n*10 from wrapping
		}
	}
	switch {
	case overflow:
		return 0, fmt.Sprintf("id %s is out of range (largest id is %d)", shorten(strconv.Quote(string(b))), int64(math.MaxInt64))
	case n == 0:
		return 0, fmt.Sprintf("id %s is not a positive integer", shorten(strconv.Quote(string(b))))
	}
	return int64(n), ""
}
