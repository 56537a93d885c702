package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"goquiz/common"
)

// field is a customer field a template names.
type field int8

// The fields, in wire order; noField marks a literal part.
const (
	noField field = iota - 1
	fieldID
	fieldFirstName
	fieldLastName
	fieldEmail
	fieldPhone
)

// fieldNames are the placeholders' names, by field.
var fieldNames = [...]string{"id", "first_name", "last_name", "email", "phone"}

// fieldByName returns the field named name, and false when there is none.
func fieldByName(name string) (field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return field(i), true
		}
	}
	return noField, false
}

// value returns the field f of c as text: the id in decimal.
func (f field) value(c common.Customer) string {
	switch f {
	case fieldID:
		return strconv.FormatInt(c.ID, 10)
	case fieldFirstName:
		return c.FirstName
	case fieldLastName:
		return c.LastName
	case fieldEmail:
		return c.Email
	case fieldPhone:
		return c.Phone
	}
	return ""
}

// knownPlaceholders lists the placeholders for messages.
var knownPlaceholders = "{{" + strings.Join(fieldNames[:], "}}, {{") + "}}"

// BodyTemplate is a request body written by the user: JSON in which the
// placeholders {{id}}, {{first_name}}, {{last_name}}, {{email}} and
// {{phone}} stand where the customer's values go, as JSON values: the id
// a number, the others strings, quoted and escaped as encoding/json does
// (HTML characters as they are, invalid UTF-8 as U+FFFD). No value can
// break the JSON or add a field. White space inside the braces is
// allowed ({{ email }}). A placeholder between quotes is a mistake; other
// text between quotes, braces included, is the template's own.
type BodyTemplate struct {
	parts []part
	// size is the length of the literal text.
	size int
}

// part is a literal piece of a template followed by a placeholder's
// field, or by nothing (noField, at the end).
type part struct {
	lit   []byte
	field field
}

// TemplateError is a mistake in a template, with where it is: line and
// column (in characters) count from 1.
type TemplateError struct {
	Line, Column int
	Msg          string
}

// Error returns "line:column: message", as compilers write it.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// placeholder is a placeholder found in a template: where it starts and
// ends, and its field.
type placeholder struct {
	start, end int
	field      field
}

// ParseBodyTemplate parses text as a body template. A placeholder that
// names no field, a placeholder between quotes or in the place of an
// object's key, and a text that is not one JSON value once its
// placeholders are filled are errors, a *TemplateError saying where.
func ParseBodyTemplate(text []byte) (*BodyTemplate, error) {
	phs, err := scanPlaceholders(text)
	if err != nil {
		return nil, err
	}
	filled := fillSamples(text, phs)
	if err := checkJSON(text, filled); err != nil {
		return nil, err
	}
	if err := checkValues(text, filled, phs); err != nil {
		return nil, err
	}
	t := &BodyTemplate{}
	at := 0
	for _, p := range phs {
		t.parts = append(t.parts, part{lit: text[at:p.start], field: p.field})
		t.size += p.start - at
		at = p.end
	}
	t.parts = append(t.parts, part{lit: text[at:], field: noField})
	t.size += len(text) - at
	return t, nil
}

// scanPlaceholders finds the placeholders of text, outside JSON strings;
// inside one, a placeholder of a known field is a mistake and any other
// text is literal.
func scanPlaceholders(text []byte) ([]placeholder, error) {
	var phs []placeholder
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString && c == '\\':
			i++ // the escaped byte
		case c == '"':
			inString = !inString
		case c == '{' && i+1 < len(text) && text[i+1] == '{':
			name, end, ok := placeholderAt(text, i)
			if inString {
				if _, known := fieldByName(name); ok && known {
					return nil, errorAt(text, i, fmt.Sprintf(
						"{{%s}} is between quotes: a placeholder is replaced by a JSON value the program quotes, so write it without quotes", name))
				}
				continue
			}
			if !ok && i+2 < len(text) && text[i+2] == '{' {
				continue // "{" before a placeholder: an object's
			}
			if !ok {
				return nil, errorAt(text, i, `"{{" that does not start a placeholder such as {{email}}`)
			}
			f, known := fieldByName(name)
			if !known {
				return nil, errorAt(text, i, fmt.Sprintf("unknown placeholder {{%s}} (known: %s)", name, knownPlaceholders))
			}
			phs = append(phs, placeholder{start: i, end: end, field: f})
			i = end - 1
		}
	}
	return phs, nil
}

// placeholderAt reads the placeholder whose "{{" is at i: its name
// (lower-case letters and underscores, white space around it allowed)
// and the offset just past its "}}". ok is false when no "}}" closes a
// name there.
func placeholderAt(text []byte, i int) (name string, end int, ok bool) {
	j := i + 2
	for j < len(text) && isSpace(text[j]) {
		j++
	}
	start := j
	for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] == '_') {
		j++
	}
	name = string(text[start:j])
	for j < len(text) && isSpace(text[j]) {
		j++
	}
	if name == "" || !bytes.HasPrefix(text[j:], []byte("}}")) {
		return name, 0, false
	}
	return name, j + 2, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// fillSamples returns text with each placeholder replaced by a sample
// value of the same length — a number for the id, a string for the
// others — so that an offset in the result is the same offset in text.
func fillSamples(text []byte, phs []placeholder) []byte {
	filled := bytes.Clone(text)
	for _, p := range phs {
		n := p.end - p.start // at least len("{{id}}")
		sample := filled[p.start:p.end]
		if p.field == fieldID {
			sample[0] = '1'
			for k := 1; k < n; k++ {
				sample[k] = '0'
			}
			continue
		}
		sample[0], sample[n-1] = '"', '"'
		for k := 1; k < n-1; k++ {
			sample[k] = 'x'
		}
	}
	return filled
}

// checkJSON reports where filled, the template with sample values, is
// not one JSON value.
func checkJSON(text, filled []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(filled, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return errorAt(text, 0, "not JSON: "+err.Error())
	}
	at := int(se.Offset) - 1 // the character that does not fit
	msg := se.Error()
	if strings.HasPrefix(msg, "unexpected end") {
		at = len(text)
		msg = "the JSON ends too soon (an object or array not closed?)"
	}
	return errorAt(text, max(at, 0), "not JSON once its placeholders are filled: "+msg)
}

// checkValues reports a placeholder that stands in the place of an
// object's key, where its value would name a field.
func checkValues(text, filled []byte, phs []placeholder) error {
	if len(phs) == 0 {
		return nil
	}
	ends := make(map[int64]placeholder, len(phs))
	for _, p := range phs {
		ends[int64(p.end)] = p
	}
	dec := json.NewDecoder(bytes.NewReader(filled))
	// inObject[i] tells whether the i-th open container is an object,
	// and key whether the next token of the innermost is a key.
	var inObject []bool
	key := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end: the syntax was checked already
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				inObject = append(inObject, true)
				key = true
			case '[':
				inObject = append(inObject, false)
				key = false
			default:
				inObject = inObject[:len(inObject)-1]
				key = len(inObject) > 0 && inObject[len(inObject)-1]
			}
			continue
		}
		if key {
			if p, ok := ends[dec.InputOffset()]; ok {
				return errorAt(text, p.start, fmt.Sprintf(
					"{{%s}} is in the place of a key: a placeholder is a value, and no value may name a field", fieldNames[p.field]))
			}
		}
		// After a key comes its value; after a value in an object, the
		// next key.
		key = len(inObject) > 0 && inObject[len(inObject)-1] && !key
	}
}

// errorAt returns a TemplateError at offset at of text.
func errorAt(text []byte, at int, msg string) *TemplateError {
	at = min(at, len(text))
	line := 1 + bytes.Count(text[:at], []byte("\n"))
	lineStart := bytes.LastIndexByte(text[:at], '\n') + 1
	return &TemplateError{Line: line, Column: 1 + utf8.RuneCount(text[lineStart:at]), Msg: msg}
}

// render returns the body of c: the template with each placeholder
// replaced by c's value.
func (t *BodyTemplate) render(c common.Customer) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(t.size + 24 + len(c.FirstName) + len(c.LastName) + len(c.Email) + len(c.Phone) + 16)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var num [20]byte
	for _, p := range t.parts {
		buf.Write(p.lit)
		switch p.field {
		case noField:
		case fieldID:
			buf.Write(strconv.AppendInt(num[:0], c.ID, 10))
		default:
			if err := enc.Encode(p.field.value(c)); err != nil {
				return nil, err
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
		}
	}
	return buf.Bytes(), nil
}
