package crm

import (
	"strconv"
	"unicode/utf8"

	"goquiz/common"
)

// bodyOverhead is the length of the JSON object appendCustomer writes
// around the field values, plus room for a 20-digit id.
const bodyOverhead = len(`{"id":,"first_name":"","last_name":"","email":"","phone":""}`) + 20

// hexDigits are the digits of \u00XX escapes, lower case as encoding/json
// writes them.
const hexDigits = "0123456789abcdef"

// appendCustomer appends the wire form of c to dst: the compact JSON object
// {"id":…,"first_name":…,"last_name":…,"email":…,"phone":…} with the keys in
// that order. Strings are escaped exactly as encoding/json does with HTML
// escaping off, so the result is valid JSON for any input, including
// invalid UTF-8, which becomes U+FFFD.
func appendCustomer(dst []byte, c common.Customer) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, c.ID, 10)
	dst = append(dst, `,"first_name":`...)
	dst = appendString(dst, c.FirstName)
	dst = append(dst, `,"last_name":`...)
	dst = appendString(dst, c.LastName)
	dst = append(dst, `,"email":`...)
	dst = appendString(dst, c.Email)
	dst = append(dst, `,"phone":`...)
	dst = appendString(dst, c.Phone)
	return append(dst, '}')
}

// encodedSizeHint returns a capacity for c's body that fits it without
// growing unless its strings need escaping.
func encodedSizeHint(c common.Customer) int {
	return bodyOverhead + len(c.FirstName) + len(c.LastName) + len(c.Email) + len(c.Phone)
}

// appendString appends s as a quoted JSON string. It escapes the quote, the
// backslash, control characters, U+2028 and U+2029, and replaces every byte
// of invalid UTF-8 with U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
