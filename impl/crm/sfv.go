package crm

import (
	"errors"
	"strconv"
	"strings"
)

// This file parses Structured Field Values for HTTP (RFC 9651), the
// syntax of the RateLimit and RateLimit-Policy fields: Lists and
// Dictionaries of Items with Parameters. Every bare item type is
// recognised, so that a field is accepted or refused as RFC 9651 says;
// only the values the budget needs are kept (integers, and the text of
// strings and tokens).

// sfKind is the type of a bare item.
type sfKind uint8

// The bare item types, and an inner list.
const (
	sfInteger sfKind = iota + 1
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBoolean
	sfDate
	sfDisplayString
	sfInnerList
)

// sfValue is a bare item: its type, and its value when the type is an
// Integer (num) or a String or Token (text).
type sfValue struct {
	kind sfKind
	num  int64
	text string
}

// sfParam is one parameter of an item.
type sfParam struct {
	key string
	val sfValue
}

// sfMember is a member of a List or a Dictionary: an Item (or an inner
// list) with its parameters, and its key in a Dictionary.
type sfMember struct {
	key    string
	val    sfValue
	params []sfParam
}

// param returns the value of the parameter named key, the last one when
// it appears more than once.
func (m sfMember) param(key string) (sfValue, bool) {
	for i := len(m.params) - 1; i >= 0; i-- {
		if m.params[i].key == key {
			return m.params[i].val, true
		}
	}
	return sfValue{}, false
}

// errSyntax reports a field value that is not a valid structured field.
var errSyntax = errors.New("invalid structured field")

// parseSFList parses s as a List.
func parseSFList(s string) ([]sfMember, error) {
	return parseSF(s, false)
}

// parseSFDictionary parses s as a Dictionary.
func parseSFDictionary(s string) ([]sfMember, error) {
	return parseSF(s, true)
}

// parseSF parses s as a List, or as a Dictionary when dict is set.
func parseSF(s string, dict bool) ([]sfMember, error) {
	p := sfParser{s: s}
	p.skipSP()
	var members []sfMember
	for !p.done() {
		var m sfMember
		var err error
		if dict {
			m, err = p.dictMember()
		} else {
			m, err = p.itemOrInnerList()
		}
		if err != nil {
			return nil, err
		}
		members = append(members, m)
		p.skipOWS()
		if p.done() {
			return members, nil
		}
		if p.next() != ',' {
			return nil, errSyntax
		}
		p.i++
		p.skipOWS()
		if p.done() {
			return nil, errSyntax // trailing comma
		}
	}
	return members, nil
}

// sfParser walks a field value.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

// next returns the next byte, 0 at the end.
func (p *sfParser) next() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) skipSP() {
	for p.next() == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for c := p.next(); c == ' ' || c == '\t'; c = p.next() {
		p.i++
	}
}

// dictMember parses key[=member]; a key alone is the Boolean true.
func (p *sfParser) dictMember() (sfMember, error) {
	key, err := p.key()
	if err != nil {
		return sfMember{}, err
	}
	if p.next() != '=' {
		params, err := p.params()
		return sfMember{key: key, val: sfValue{kind: sfBoolean, num: 1}, params: params}, err
	}
	p.i++
	m, err := p.itemOrInnerList()
	m.key = key
	return m, err
}

// itemOrInnerList parses an Item, or an inner list, with its parameters.
func (p *sfParser) itemOrInnerList() (sfMember, error) {
	var v sfValue
	var err error
	if p.next() == '(' {
		v, err = p.innerList()
	} else {
		v, err = p.bareItem()
	}
	if err != nil {
		return sfMember{}, err
	}
	params, err := p.params()
	return sfMember{val: v, params: params}, err
}

// innerList parses "(item item ...)"; its items are checked, not kept.
func (p *sfParser) innerList() (sfValue, error) {
	p.i++ // (
	for {
		p.skipSP()
		if p.next() == ')' {
			p.i++
			return sfValue{kind: sfInnerList}, nil
		}
		if _, err := p.bareItem(); err != nil {
			return sfValue{}, err
		}
		if _, err := p.params(); err != nil {
			return sfValue{}, err
		}
		if c := p.next(); c != ' ' && c != ')' {
			return sfValue{}, errSyntax
		}
	}
}

// params parses any number of ";key[=value]".
func (p *sfParser) params() ([]sfParam, error) {
	var params []sfParam
	for p.next() == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		v := sfValue{kind: sfBoolean, num: 1}
		if p.next() == '=' {
			p.i++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		params = append(params, sfParam{key: key, val: v})
	}
	return params, nil
}

// key parses a key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *sfParser) key() (string, error) {
	start := p.i
	if c := p.next(); !isLower(c) && c != '*' {
		return "", errSyntax
	}
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if !isLower(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
	}
	return p.s[start:p.i], nil
}

// bareItem parses an Integer, Decimal, String, Token, Byte Sequence,
// Boolean, Date or Display String.
func (p *sfParser) bareItem() (sfValue, error) {
	switch c := p.next(); {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			v := sfValue{kind: sfBoolean, num: int64(p.s[p.i+1] - '0')}
			p.i += 2
			return v, nil
		}
	case c == '@':
		p.i++
		v, err := p.number()
		if err != nil || v.kind != sfInteger {
			return sfValue{}, errSyntax
		}
		return sfValue{kind: sfDate, num: v.num}, nil
	case c == '%':
		return p.displayString()
	case isAlpha(c) || c == '*':
		return p.token(), nil
	}
	return sfValue{}, errSyntax
}

// number parses an Integer (at most 15 digits) or a Decimal (at most 12
// integer and 1 to 3 fraction digits).
func (p *sfParser) number() (sfValue, error) {
	start := p.i
	if p.next() == '-' {
		p.i++
	}
	digits := p.i
	for isDigit(p.next()) {
		p.i++
	}
	intDigits := p.i - digits
	if intDigits == 0 {
		return sfValue{}, errSyntax
	}
	if p.next() != '.' {
		if intDigits > 15 {
			return sfValue{}, errSyntax
		}
		n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		return sfValue{kind: sfInteger, num: n}, err
	}
	p.i++
	frac := p.i
	for isDigit(p.next()) {
		p.i++
	}
	if intDigits > 12 || p.i == frac || p.i-frac > 3 {
		return sfValue{}, errSyntax
	}
	return sfValue{kind: sfDecimal}, nil
}

// str parses a String: printable ASCII in quotes, with \" and \\ escapes.
func (p *sfParser) str() (sfValue, error) {
	var b strings.Builder
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return sfValue{kind: sfString, text: b.String()}, nil
		case c == '\\':
			p.i++
			if e := p.next(); e == '"' || e == '\\' {
				b.WriteByte(e)
				continue
			}
			return sfValue{}, errSyntax
		case c < 0x20 || c > 0x7e:
			return sfValue{}, errSyntax
		default:
			b.WriteByte(c)
		}
	}
	return sfValue{}, errSyntax // unterminated
}

// token parses a Token: ( ALPHA / "*" ) *( tchar / ":" / "/" ).
func (p *sfParser) token() sfValue {
	start := p.i
	for p.i++; !p.done() && (isTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/'); p.i++ {
	}
	return sfValue{kind: sfToken, text: p.s[start:p.i]}
}

// bytes parses a Byte Sequence: base64 between colons.
func (p *sfParser) bytes() (sfValue, error) {
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if c == ':' {
			p.i++
			return sfValue{kind: sfBytes}, nil
		}
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return sfValue{}, errSyntax
		}
	}
	return sfValue{}, errSyntax
}

// displayString parses a Display String: %"…" with %xx escapes in lower
// case hex.
func (p *sfParser) displayString() (sfValue, error) {
	if p.i+1 >= len(p.s) || p.s[p.i+1] != '"' {
		return sfValue{}, errSyntax
	}
	for p.i += 2; !p.done(); p.i++ {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return sfValue{kind: sfDisplayString}, nil
		case c == '%':
			if p.i+2 >= len(p.s) || !isLowerHex(p.s[p.i+1]) || !isLowerHex(p.s[p.i+2]) {
				return sfValue{}, errSyntax
			}
			p.i += 2
		case c < 0x20 || c > 0x7e:
			return sfValue{}, errSyntax
		}
	}
	return sfValue{}, errSyntax
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool    { return isLower(c) || (c >= 'A' && c <= 'Z') }
func isLowerHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') }

// isTchar reports whether c is a tchar of RFC 9110.
func isTchar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
