package csv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// An Encoding is the character encoding of a Reader's input, as
// LookupEncoding finds it. The zero value is UTF-8.
type Encoding struct {
	name  string            // canonical WHATWG name; "" for UTF-8
	label string            // the name it was looked up by
	enc   encoding.Encoding // nil for UTF-8 and for the label utf-16
	bom   bool              // the label utf-16: a byte-order mark decides the order
}

// LookupEncoding returns the encoding of a WHATWG Encoding Standard label,
// as browsers read them and golang.org/x/text implements them: utf-8,
// windows-1252, iso-8859-15, shift_jis, utf-16le and so on. As in
// browsers, iso-8859-1, latin1 and ascii name windows-1252. The label
// utf-16 (which WHATWG reads as utf-16le) needs a byte-order mark at the
// start of the input, which gives the byte order. The replacement
// encoding, which reads no text, is refused.
func LookupEncoding(label string) (Encoding, error) {
	l := strings.ToLower(strings.TrimSpace(label))
	switch l {
	case "":
		return Encoding{}, errors.New("is empty: want an encoding name such as utf-8, windows-1252, iso-8859-15 or utf-16")
	case "utf-16":
		return Encoding{name: "utf-16", label: l, bom: true}, nil
	}
	enc, err := htmlindex.Get(l)
	if err != nil {
		return Encoding{}, fmt.Errorf("%s is not an encoding name of the WHATWG Encoding Standard (such as utf-8, windows-1252, iso-8859-15 or utf-16)", strconv.Quote(label))
	}
	name, err := htmlindex.Name(enc)
	if err != nil {
		return Encoding{}, fmt.Errorf("encoding %s: %w", strconv.Quote(label), err)
	}
	switch name {
	case "replacement":
		return Encoding{}, fmt.Errorf("%s names the WHATWG replacement encoding, which reads no text", strconv.Quote(label))
	case "utf-8":
		return Encoding{label: l}, nil
	}
	return Encoding{name: name, label: l, enc: enc}, nil
}

// String returns the encoding's canonical name, followed by the label it
// was looked up by when that differs: "windows-1252 (named iso-8859-1)".
func (e Encoding) String() string {
	name := e.Name()
	if e.label != "" && e.label != name {
		return name + " (named " + e.label + ")"
	}
	return name
}

// Name returns the encoding's canonical WHATWG name, such as utf-8 or
// windows-1252.
func (e Encoding) Name() string {
	if e.name == "" {
		return "utf-8"
	}
	return e.name
}

// utf16 returns the UTF-16 encoding of the byte order a byte-order mark
// gave.
func utf16(be bool) Encoding {
	name := "utf-16le"
	if be {
		name = "utf-16be"
	}
	enc, _ := htmlindex.Get(name) // never fails: a name of the index
	return Encoding{name: name, label: name, enc: enc}
}
