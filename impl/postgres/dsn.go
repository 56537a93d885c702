package postgres

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/lib/pq"
)

// The DSN as goquiz reads it: prepared for lib/pq (sessionDSN), checked
// before a program starts (CheckDSN), and shown without its password
// (Redact).

// sessionDSN returns dsn, prepared for lib/pq: a URL listing several
// hosts with their ports is rewritten into the form lib/pq understands, a
// DSN without sslmode prefers TLS (see withSSLPrefer), binary_parameters
// is set, and application_name is app unless dsn names one.
func sessionDSN(dsn, app string) (string, error) {
	dsn = withSSLPrefer(multiHostURL(dsn))
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return "", err
	}
	add := map[string]string{}
	if cfg.ApplicationName == "" || cfg.ApplicationName == "pqgo" {
		add["application_name"] = app
	}
	if !cfg.BinaryParameters {
		add["binary_parameters"] = "yes"
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		for k, v := range add {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	var b strings.Builder
	b.WriteString(dsn)
	for k, v := range add {
		fmt.Fprintf(&b, " %s='%s'", k, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
	}
	return b.String(), nil
}

// multiHostURL rewrites a URL that lists several hosts each with its port
// (postgres://u@db1:5432,db2:5433/feed), which lib/pq reads as one host
// name, into the form it reads as a list (postgres://u@/feed?host=db1,db2
// &port=5432,5433). Any other DSN is returned as it is.
func multiHostURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || !strings.Contains(u.Host, ",") {
		return dsn
	}
	var hosts, ports []string
	for _, item := range strings.Split(u.Host, ",") {
		host, port := item, "5432"
		if h, p, err := net.SplitHostPort(item); err == nil {
			host, port = h, p
		}
		hosts = append(hosts, host)
		ports = append(ports, port)
	}
	q := u.Query()
	q.Set("host", strings.Join(hosts, ","))
	if !q.Has("port") {
		q.Set("port", strings.Join(ports, ","))
	}
	u.Host = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// withSSLPrefer makes a DSN that names no sslmode use TLS when the server
// offers it and plain connections otherwise, as libpq does, instead of
// requiring TLS, which a local server often does not offer.
func withSSLPrefer(dsn string) string {
	if os.Getenv("PGSSLMODE") != "" || strings.Contains(dsn, "sslmode") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("sslmode", "prefer")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " sslmode=prefer"
}

// passwordKey is where a password's value starts in a key=value DSN, or
// in the query of a URL that does not parse (sslpassword too).
var passwordKey = regexp.MustCompile(`(?i)password\s*=\s*`)

// nextKey is the start of the setting after a value: "sslmode=".
var nextKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\s*=`)

// passwordSpans returns where the password values of dsn (key=value, or
// a URL that does not parse) are, as [start, end) byte offsets. A quoted
// value runs to its closing quote, or to the end when it has none; any
// other value runs to the next setting ("key="), or to the end, as it
// may hold escaped spaces ("pass\ word") or stray ones ("pass word",
// which does not parse, and whose words the error quotes); in a URL, a
// value ends at '&' too.
func passwordSpans(dsn string) [][2]int {
	var spans [][2]int
	for _, m := range passwordKey.FindAllStringIndex(dsn, -1) {
		start := m[1]
		if len(spans) > 0 && start < spans[len(spans)-1][1] {
			continue // inside the previous value
		}
		spans = append(spans, [2]int{start, valueEnd(dsn, start, strings.Contains(dsn, "://"))})
	}
	return spans
}

// valueEnd returns where the value of a setting that starts at start in
// dsn ends (see passwordSpans).
func valueEnd(dsn string, start int, inURL bool) int {
	if strings.HasPrefix(dsn[start:], "'") {
		for i := start + 1; i < len(dsn); i++ {
			switch dsn[i] {
			case '\\':
				i++
			case '\'':
				return i + 1
			}
		}
		return len(dsn)
	}
	for i := start; i < len(dsn); i++ {
		switch c := dsn[i]; {
		case c == '\\':
			i++
		case c == '&' && inURL:
			return i
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			rest := strings.TrimLeft(dsn[i:], " \t\n\r")
			if rest == "" || nextKey.MatchString(rest) {
				return i
			}
		}
	}
	return len(dsn)
}

// redactSpans returns dsn with each of spans replaced by "***".
func redactSpans(dsn string, spans [][2]int) string {
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(dsn[last:sp[0]])
		b.WriteString("***")
		last = sp[1]
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// redactError returns err without the words of the passwords of dsn (see
// passwordSpans) that a parse error of lib/pq may quote ("missing "="
// after "word""): each word of three bytes or more becomes "***". An
// error that quotes none is returned as it is.
func redactError(err error, dsn string) error {
	msg := err.Error()
	for _, sp := range passwordSpans(dsn) {
		for _, w := range strings.Fields(dsn[sp[0]:sp[1]]) {
			if w = strings.Trim(w, `'"\`); len(w) >= 3 {
				msg = strings.ReplaceAll(msg, w, "***")
			}
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// urlPassword is the password of a URL that does not parse: from the
// first ':' after the scheme's "//" and a user name to the last '@'.
var urlPassword = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:).*@`)

// CheckDSN returns why dsn cannot be used, if it cannot (a URL that does
// not parse, a setting of an unknown value), without its password: the
// check Open makes, for a program to make before it starts.
func CheckDSN(dsn string) error {
	_, err := connectorOf(dsn, "goquiz", dialer{})
	return err
}

// connectorOf returns the connector of dsn, its sessions named app, or
// why there is none (see sessionConfig).
func connectorOf(dsn, app string, dial dialer) (*connector, error) {
	_, cfg, err := sessionConfig(dsn, app)
	if err != nil {
		return nil, err
	}
	c, err := newConnector(cfg, dial)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(dsn), err)
	}
	return c, nil
}

// sessionConfig returns dsn prepared for sessions named app (see
// sessionDSN) and lib/pq's reading of it, or why it cannot be used: an
// error that starts with the DSN, its password masked, and leaves out the
// URL a *url.Error repeats, password included.
func sessionConfig(dsn, app string) (string, pq.Config, error) {
	full, err := sessionDSN(dsn, app)
	var cfg pq.Config
	if err == nil {
		cfg, err = pq.NewConfig(full)
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = errors.New(ue.Err.Error())
		}
		return "", pq.Config{}, fmt.Errorf("%s: %w", Redact(dsn), redactError(err, dsn))
	}
	return full, cfg, nil
}

// Redact returns dsn with any password replaced by "***", for logs and
// error messages, whether or not it parses.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") { // sslpassword too
				q.Set(k, "***")
				u.RawQuery = q.Encode()
			}
		}
		return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
	}
	if strings.Contains(dsn, "://") {
		dsn = urlPassword.ReplaceAllString(dsn, "${1}***@")
	}
	return redactSpans(dsn, passwordSpans(dsn))
}
