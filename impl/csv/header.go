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
// the header's names, matched case-insensitively. A column named twice is
// an error.
func (r *Reader) findColumns(names []string) error {
	for i := range r.col {
		r.col[i] = -1
	}
	for i, name := range names {
		for c, want := range columns {
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
	for c, want := range columns {
		if r.col[c] < 0 {
			missing = append(missing, strconv.Quote(want))
		}
	}
	const hint = " — the first line must name the columns id, first_name, last_name, email, phone (any case and order)"
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("header has no %s column (columns found: %s)%s", missing[0], listNames(names), hint)
	default:
		return fmt.Errorf("header has no %s columns (columns found: %s)%s", strings.Join(missing, ", "), listNames(names), hint)
	}
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
