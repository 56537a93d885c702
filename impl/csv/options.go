package csv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Delimiters lists the field delimiters a Reader accepts, as
// ParseDelimiter reads them.
const Delimiters = `",", ";", "|" or a tab (written \t or as the tab character)`

// ParseDelimiter reads a field delimiter: ",", ";", "|", or a tab written
// as `\t` or as the tab character itself.
func ParseDelimiter(s string) (byte, error) {
	switch s {
	case ",", ";", "|", "\t":
		return s[0], nil
	case `\t`:
		return '\t', nil
	case "":
		return 0, errors.New("is empty: want " + Delimiters)
	}
	return 0, fmt.Errorf("%s is not a delimiter this reader accepts: want %s", strconv.Quote(s), Delimiters)
}

// Columns names the header column each customer field is read from. The
// zero value reads every field from the column of its own name (id,
// first_name, last_name, email, phone).
type Columns struct {
	names [len(columns)]string // "" for the field's own name
}

// ParseColumns reads a mapping of customer fields to header names, for
// example "id=Customer ID,email=E-mail Address": entries separated by
// commas, each a field name, "=" and the header name the field is read
// from, spaces around either ignored. The field names are id, first_name,
// last_name, email and phone (any case); a field not named keeps its own
// name. An empty string is no mapping. It is an error to name a field
// twice, an unknown field, an empty header name, or the same header name
// for two fields (mapped or not); a header name cannot hold a comma.
func ParseColumns(s string) (Columns, error) {
	var c Columns
	if strings.TrimSpace(s) == "" {
		return c, nil
	}
	for i, entry := range strings.Split(s, ",") {
		field, name, ok := strings.Cut(entry, "=")
		field, name = strings.TrimSpace(field), strings.TrimSpace(name)
		if !ok {
			return Columns{}, fmt.Errorf("entry %d (%s) is not field=Header Name", i+1, strconv.Quote(strings.TrimSpace(entry)))
		}
		col := fieldIndex(field)
		switch {
		case col < 0:
			return Columns{}, fmt.Errorf("entry %d names the field %s: the fields are %s", i+1, strconv.Quote(field), strings.Join(columns[:], ", "))
		case name == "":
			return Columns{}, fmt.Errorf("entry %d gives %s an empty header name", i+1, columns[col])
		case c.names[col] != "":
			return Columns{}, fmt.Errorf("entry %d maps %s again", i+1, columns[col])
		}
		c.names[col] = name
	}
	for a := range columns {
		for b := a + 1; b < len(columns); b++ {
			if strings.EqualFold(c.name(a), c.name(b)) {
				return Columns{}, fmt.Errorf("%s and %s would both be read from the column %s", columns[a], columns[b], strconv.Quote(c.name(a)))
			}
		}
	}
	return c, nil
}

// fieldIndex returns the index of the customer field named name in
// columns, matched case-insensitively, or -1.
func fieldIndex(name string) int {
	for i, f := range columns {
		if strings.EqualFold(name, f) {
			return i
		}
	}
	return -1
}

// name returns the header name that field col (an index of columns) is
// read from.
func (c Columns) name(col int) string {
	if c.names[col] != "" {
		return c.names[col]
	}
	return columns[col]
}

// Mapped reports whether any field is read from a column of another name.
func (c Columns) Mapped() bool { return c != Columns{} }

// String describes the mapping, for example
// `id="Customer ID", email="E-mail Address"`; "" when there is none.
func (c Columns) String() string {
	var parts []string
	for col, name := range c.names {
		if name != "" {
			parts = append(parts, columns[col]+"="+strconv.Quote(name))
		}
	}
	return strings.Join(parts, ", ")
}
