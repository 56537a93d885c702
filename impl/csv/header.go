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
	for {
		kind, err := r.readRecord()
		if err != nil {
			return err
		}
		if kind == recEnd {
			return ErrEmpty
		}
		if kind == recData {
			break
		}
	}
	switch {
	case r.tooLarge(r.text()):
		return fmt.Errorf("header on line %d is larger than %d bytes", r.recLine, r.max)
	case r.openLine > 0:
		return fmt.Errorf("malformed header: quote opened on line %d never closes", r.openLine)
	case r.bad != "":
		return fmt.Errorf("malformed header on line %d: %s", r.recLine, r.bad)
	}
	r.nfield = r.nf
	for i := range r.col {
		r.col[i] = -1
	}
	names := make([]string, r.nf)
	for i := range names {
		names[i] = strings.TrimSpace(string(r.field(i)))
		for c, want := range columns {
			if !strings.EqualFold(names[i], want) {
				continue
			}
			if r.col[c] >= 0 {
				return fmt.Errorf("header names column %q twice (fields %d and %d)", want, r.col[c]+1, i+1)
			}
			r.col[c] = i
		}
	}
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
