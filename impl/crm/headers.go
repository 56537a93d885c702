package crm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// DefaultIdempotencyHeader is the header carrying the idempotency key
// when Options.IdempotencyHeader is empty.
const DefaultIdempotencyHeader = "Idempotency-Key"

// reservedHeaders are the headers a Client sets itself, or net/http does:
// no option may set them.
var reservedHeaders = []string{
	"Content-Type", "Content-Length", "Transfer-Encoding", "Host", "Connection",
	"Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Upgrade",
}

// CheckHeaderName reports a name that cannot name an extra header: not a
// valid field name, or one of the headers the client sets itself
// (Content-Type, always application/json, Content-Length, Host and the
// connection's own).
func CheckHeaderName(name string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return errors.New("not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
	}
	canon := http.CanonicalHeaderKey(name)
	for _, r := range reservedHeaders {
		if canon == r {
			if r == "Content-Type" {
				return errors.New("Content-Type is set by goquiz: always application/json")
			}
			return fmt.Errorf("%s is set by the HTTP client", r)
		}
	}
	return nil
}

// ParseHeaders parses a block of extra headers, one "Name: value" a line
// as in an HTTP header block (lines end in LF or CRLF; blank lines are
// skipped; white space around names and values is dropped). A name given
// on several lines gets each value. Its errors say which line is wrong
// but never quote a value: values are secrets.
func ParseHeaders(block string) (http.Header, error) {
	h := http.Header{}
	n := 0
	for line := range strings.Lines(block) {
		n++
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d is not Name: value", n)
		}
		if err := CheckHeaderName(name); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("line %d: the value of %s holds a character not allowed in a header", n, http.CanonicalHeaderKey(name))
		}
		h.Add(name, value)
	}
	return h, nil
}
