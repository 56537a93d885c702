package mockcrm

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

// customerKeys are the keys of a customer object, in wire order; the key
// at index i has bit 1<<i in a set of keys.
var customerKeys = [...]string{"id", "first_name", "last_name", "email", "phone"}

// allKeys is the set of every key of a customer object.
const allKeys = 1<<len(customerKeys) - 1

// maxQuotedKey bounds how much of an unknown key is quoted in a reason.
const maxQuotedKey = 40

// decodeCustomer parses body as a customer object: a JSON object with
// exactly the keys id, a positive integer fitting int64, and first_name,
// last_name, email and phone, strings, in any order, with nothing after it
// but white space. Its error is a short reason fit for the client.
//
// The body is first checked to be valid JSON, then walked by hand: this
// is several times faster than encoding/json's token API, and only has to
// find its way through valid JSON.
func decodeCustomer(body []byte) (common.Customer, error) {
	var c common.Customer
	if err := checkSyntax(body); err != nil {
		return c, err
	}
	p := scanner{b: body}
	if p.skipSpace() != '{' {
		return c, errors.New("body is not a JSON object")
	}
	p.i++

	var seen uint8
	for p.skipSpace() != '}' {
		key, bit := p.key()
		p.skipSpace() // to the colon
		p.i++
		if bit == 0 {
			return c, fmt.Errorf("unknown key %q", truncate(key, maxQuotedKey))
		}
		if seen&bit != 0 {
			return c, fmt.Errorf("duplicate key %q", key)
		}
		seen |= bit
		if err := p.field(&c, key); err != nil {
			return c, err
		}
		if p.skipSpace() == ',' {
			p.i++
			p.skipSpace()
		}
	}
	if seen != allKeys {
		for i, k := range customerKeys {
			if seen&(1<<i) == 0 {
				return c, fmt.Errorf("missing key %q", k)
			}
		}
	}
	return c, nil
}

// key reads the key at the scanner and returns it with its bit, 0 for
// keys other than a customer's.
func (p *scanner) key() (string, uint8) {
	raw, plain := p.rawStr()
	if plain {
		for i, k := range customerKeys {
			if string(raw[1:len(raw)-1]) == k {
				return k, 1 << i
			}
		}
	}
	key := unquote(raw, plain)
	for i, k := range customerKeys {
		if k == key {
			return k, 1 << i
		}
	}
	return key, 0
}

// scanner walks a body known to be valid JSON.
type scanner struct {
	b []byte
	i int
}

// skipSpace skips white space and returns the next byte, 0 at the end.
func (p *scanner) skipSpace() byte {
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// field reads the value of key into c.
func (p *scanner) field(c *common.Customer, key string) error {
	next := p.skipSpace()
	if key == "id" {
		if next != '-' && (next < '0' || next > '9') {
			return errors.New("id is not a JSON number")
		}
		id, err := parseID(p.number())
		if err != nil {
			return err
		}
		c.ID = id
		return nil
	}
	if next != '"' {
		return fmt.Errorf("%s is not a JSON string", key)
	}
	s := p.str()
	switch key {
	case "first_name":
		c.FirstName = s
	case "last_name":
		c.LastName = s
	case "email":
		c.Email = s
	case "phone":
		c.Phone = s
	}
	return nil
}

// number reads the number at the scanner.
func (p *scanner) number() string {
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return string(p.b[start:p.i])
		}
	}
	return string(p.b[start:])
}

// str reads the string at the scanner, unescaping it as encoding/json
// does, invalid UTF-8 becoming U+FFFD.
func (p *scanner) str() string {
	return unquote(p.rawStr())
}

// rawStr reads the string at the scanner and returns it with its quotes,
// and whether it is plain: valid UTF-8 without escapes, its own value.
func (p *scanner) rawStr() (raw []byte, plain bool) {
	start := p.i
	escaped := false
	for p.i++; p.b[p.i] != '"'; p.i++ {
		if p.b[p.i] == '\\' {
			escaped = true
			p.i++ // the escaped byte: \uXXXX has no quote after its u
		}
	}
	p.i++
	raw = p.b[start:p.i]
	return raw, !escaped && utf8.Valid(raw[1:len(raw)-1])
}

// unquote returns the value of the valid JSON string raw.
func unquote(raw []byte, plain bool) string {
	if plain {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// Unreachable: raw is a valid JSON string.
		return string(raw)
	}
	return s
}

// parseID parses a JSON number as a positive id fitting int64.
func parseID(n string) (int64, error) {
	if strings.ContainsAny(n, ".eE") {
		return 0, errors.New("id is not an integer")
	}
	if strings.HasPrefix(n, "-") {
		return 0, errors.New("id is not positive")
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, errors.New("id is out of range")
	}
	if id == 0 {
		return 0, errors.New("id is not positive")
	}
	return id, nil
}

// checkSyntax reports a body that is not exactly one JSON value.
func checkSyntax(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty body")
	}
	if json.Valid(body) {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d", se.Offset)
	}
	return errors.New("invalid JSON")
}

// truncate shortens s to at most n bytes, keeping whole runes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
