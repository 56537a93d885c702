package crm

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"goquiz/common"
)

// endpoint is the request URL of a Client: a fixed URL, or one whose
// placeholders ({id}, {email}…) take each customer's values.
type endpoint struct {
	// url is the URL without credentials; with placeholders, its text
	// before the first one.
	url string
	// parts follow url when there are placeholders: each a value,
	// escaped for where it stands, then literal text.
	parts []urlPart
	// user holds the credentials the endpoint carried, or nil.
	user *url.Userinfo
}

// urlPart is a placeholder of an endpoint and the literal text after it.
type urlPart struct {
	field field
	query bool // in the query (QueryEscape) rather than the path (PathEscape)
	lit   string
}

// marker stands for the i-th placeholder while the endpoint is parsed as
// a URL: letters and digits, which no part of a URL escapes.
func marker(i int) string { return "goquizPlaceholder" + strconv.Itoa(i) + "X" }

// CheckEndpoint reports why endpoint cannot be a Client's (see New).
func CheckEndpoint(endpoint string) error {
	_, err := parseEndpoint(endpoint)
	return err
}

// parseEndpoint parses raw, an absolute http or https URL with a host, in
// whose path or query {id}, {first_name}, {last_name}, {email} or {phone}
// may stand for the customer's value. Credentials in it are taken out of
// the URL (see Options).
func parseEndpoint(raw string) (endpoint, error) {
	var fields []field
	var withMarkers strings.Builder
	rest := raw
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			withMarkers.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return endpoint{}, fmt.Errorf("%q opens a placeholder that no } closes", rest[open:])
		}
		name := rest[open+1 : open+end]
		f, ok := fieldByName(name)
		if !ok {
			return endpoint{}, fmt.Errorf("unknown placeholder {%s} (known: {%s})", name, strings.Join(fieldNames[:], "}, {"))
		}
		withMarkers.WriteString(rest[:open])
		withMarkers.WriteString(marker(len(fields)))
		fields = append(fields, f)
		rest = rest[open+end+1:]
	}
	u, err := url.Parse(withMarkers.String())
	if err != nil {
		// A *url.Error repeats the URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return endpoint{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("%q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return endpoint{}, fmt.Errorf("%q: no host", u.Redacted())
	}
	ep := endpoint{user: u.User}
	u.User = nil
	s := u.String()
	if len(fields) == 0 {
		ep.url = s
		return ep, nil
	}
	// Where each marker ended up: in order, once each, in the path or
	// the query, never in the host or the fragment.
	at := 0
	pathEnd := len(s)
	if i := strings.IndexAny(s[len(u.Scheme)+3:], "?#"); i >= 0 {
		pathEnd = len(u.Scheme) + 3 + i
	}
	queryEnd := len(s)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		queryEnd = i
	}
	hostEnd := len(u.Scheme) + 3 + len(u.Host)
	for i, f := range fields {
		m := marker(i)
		pos := strings.Index(s[at:], m)
		if pos < 0 || strings.Count(s, m) != 1 {
			return endpoint{}, fmt.Errorf("{%s} must stand in the path or the query", fieldNames[f])
		}
		pos += at
		if pos < hostEnd || pos >= queryEnd {
			return endpoint{}, fmt.Errorf("{%s} must stand in the path or the query, not the host or the fragment", fieldNames[f])
		}
		if i == 0 {
			ep.url = s[:pos]
		} else {
			ep.parts[i-1].lit = s[at:pos]
		}
		ep.parts = append(ep.parts, urlPart{field: f, query: pos > pathEnd})
		at = pos + len(m)
	}
	ep.parts[len(ep.parts)-1].lit = s[at:]
	return ep, nil
}

// String returns the endpoint without its credentials, placeholders
// shown, for logs and errors.
func (e endpoint) String() string {
	var b strings.Builder
	b.WriteString(e.url)
	for _, p := range e.parts {
		b.WriteString("{" + fieldNames[p.field] + "}")
		b.WriteString(p.lit)
	}
	return b.String()
}

// of returns the request URL of c: the fixed URL, or the placeholders
// replaced by c's values, escaped so that each stays within its path
// segment or query value ("." and ".." too, which a server would take as
// a step through the path).
func (e endpoint) of(c common.Customer) string {
	if len(e.parts) == 0 {
		return e.url
	}
	var b strings.Builder
	b.WriteString(e.url)
	for _, p := range e.parts {
		v := p.field.value(c)
		switch {
		case p.query:
			b.WriteString(url.QueryEscape(v))
		case v == "." || v == "..":
			b.WriteString(strings.Repeat("%2E", len(v)))
		default:
			b.WriteString(url.PathEscape(v))
		}
		b.WriteString(p.lit)
	}
	return b.String()
}
