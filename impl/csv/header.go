package csv

import (
	"fmt"
	"strconv"
	"strings"
)

// The required columns, in the order of Reader.col.
var columns = [...]string{"id", "first_name", "last_name", "email", "phone"}

const (
	colID = iota
	colFirstName
	colLastName
	colEmail
	colPhone
)

// readHeader reads the header and finds the required columns in it.
func (r *Reader) readHeader() error {
	if err := r.readFirst(); err != nil {
		return err
	}
	if err := r.checkHeader(); err != nil {
		return err
	}
	r.nfield = r.nf
	names := r.headerNames()
	if err := r.findColumns(names); err != nil {
		return err
	}
	return r.missingColumns(names)
}

// readFirst reads the first record that is not a blank line.
func (r *Reader) readFirst() error {
	for {
		kind, err := r.readRecord()
		switch {
		case err != nil:
			return err
		case kind == recEnd:
			return ErrEmpty
		case kind == recData:
			return nil
		}
	}
}

// checkHeader returns why the header just read is too large or malformed,
// or nil.
func (r *Reader) checkHeader() error {
	switch {
	case r.tooLarge(r.text()):
		return fmt.Errorf("header on line %d is larger than %d bytes", r.recLine, r.max)
	case r.openLine > 0:
		return fmt.Errorf("malformed header: quote opened on line %d never closes", r.openLine)
	case r.bad != "":
		return fmt.Errorf("malformed header on line %d: %s", r.recLine, r.bad)
	}
	if reason := r.undecodable(r.text()); reason != "" {
		return fmt.Errorf("header on line %d: %s", r.recLine, reason)
	}
	return nil
}

// headerNames returns the names in the header just read, without their
// surrounding spaces.
func (r *Reader) headerNames() []string {
	names := make([]string, r.nf)
	for i := range names {
		names[i] = strings.TrimSpace(string(r.field(i)))
	}
	return names
}

// findColumns sets r.col to the field index of each required column among
// the header's names, matched case-insensitively: the column of the
// field's own name, or of the name r.cols maps it to. A column named twice
// is an error.
func (r *Reader) findColumns(names []string) error {
	for i := range r.col {
		r.col[i] = -1
	}
	for i, name := range names {
		for c := range columns {
			want := r.cols.name(c)
			if !strings.EqualFold(name, want) {
				continue
			}
			if r.col[c] >= 0 {
				return fmt.Errorf("header names column %q twice (fields %d and %d)", want, r.col[c]+1, i+1)
			}
			r.col[c] = i
		}
	}
	return nil
}

// missingColumns returns an error naming the required columns that
// findColumns did not find among names, or nil.
func (r *Reader) missingColumns(names []string) error {
	var missing []string
	for c := range columns {
		if r.col[c] < 0 {
			missing = append(missing, r.columnName(c))
		}
	}
	var what string
	switch len(missing) {
	case 0:
		return nil
	case 1:
		what = missing[0] + " column"
	default:
		what = strings.Join(missing, ", ") + " columns"
	}
	return fmt.Errorf("header has no %s (columns found: %s)%s", what, listNames(names), r.headerHint(names))
}

// columnName quotes the header name of required column c for a message,
// saying which field it is when COLUMNS maps it.
func (r *Reader) columnName(c int) string {
	name := strconv.Quote(r.cols.name(c))
	if r.cols.names[c] != "" {
		name += " (" + columns[c] + " in COLUMNS)"
	}
	return name
}

// headerHint says what to do about a header that lacks required columns:
// set DELIMITER when the header looks split by another delimiter, ENCODING
// when it looks like UTF-16 read as UTF-8, and name the columns wanted.
func (r *Reader) headerHint(names []string) string {
	hint := " — the first line must name the columns " + strings.Join(columns[:], ", ") + " (any case and order)"
	if r.cols.Mapped() {
		hint = " — the first line must name the columns that COLUMNS maps (" + r.cols.String() + ") and " +
			"the other fields by their own names, any case and order"
	}
	joined := strings.Join(names, string(r.delim))
	if strings.IndexByte(joined, 0) >= 0 && !r.decoded {
		return hint + "; it holds NUL bytes: is it UTF-16 without a byte-order mark? (set ENCODING=utf-16le or utf-16be)"
	}
	if len(names) == 1 {
		for _, d := range []byte{',', ';', '\t', '|'} {
			if d != r.delim && strings.IndexByte(joined, d) >= 0 {
				return hint + fmt.Sprintf("; it looks separated by %s: set DELIMITER", strconv.Quote(string(rune(d))))
			}
		}
	}
	return hint
}

// listNames lists header names for an error message, shortened when long.
func listNames(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > 200 {
			fmt.Fprintf(&b, "... (%d columns)", len(names))
			break
		}
		if n == "" || strings.ContainsAny(n, ",\"") || strconv.Quote(n) != `"`+n+`"` {
			n = shorten(strconv.Quote(n))
		} else {
			n = shorten(n)
		}
		b.WriteString(n)
	}
	return b.String()
}
