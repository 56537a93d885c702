package e2e_test

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// apiToken is the bearer token of the log format tests: it must appear in
// no log line.
const apiToken = "tok-5ecret-7f3a"

// withPassword returns dsn with a password in it and that password: the
// one dsn has, or one added (the test cluster trusts local connections,
// so it is not checked).
func withPassword(t *testing.T, dsn string) (string, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skipf("needs a postgres:// URL with a user to put a password in, not %s", dsn)
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return dsn, pw
	}
	const pw = "pw-5ecret-91c2"
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String(), pw
}

// TestLogFormatJSON runs the three programs with LOG_FORMAT=json through a
// load and its delivery to a CRM that fails a fifth of the requests, with
// the DSN's password and the API token set, and parses every line they
// write to standard error as a JSON object: start-up lines, the parser's
// progress, failed attempts at LOG_LEVEL=debug, statistics and stop lines.
func TestLogFormatJSON(t *testing.T) {
	dsn, password := withPassword(t, pgtest.DSN(t))
	const n = 2000
	api, crm := startHTTPAPI(t, "LOG_FORMAT=json", "API_TOKEN="+apiToken, "FAIL_RATE=0.2", "SEED=1", "LOG_INTERVAL=100ms")
	in := startIntegrator(t, integratorEnv(dsn, api+"/customers",
		"LOG_FORMAT=json", "LOG_LEVEL=debug", "API_TOKEN="+apiToken, "POLL_INTERVAL=200ms"))

	res := runParser(t, dsn, fmt.Sprint(n), "LOG_FORMAT=json", "CHUNK_SIZE=200", "PROGRESS_INTERVAL=1ns")
	parsed(t, res, n, n, 0, 0)
	recs := testbin.JSONLines(t, res.Stderr)
	progress := withMsg(recs, "progress")
	require.NotEmpty(t, progress, "no progress record in:\n%s", res.Stderr)
	last := progress[len(progress)-1]
	assert.Equal(t, float64(n), last["rows_read"], "the last chunk's progress")
	assert.Equal(t, float64(n), last["stored"])
	assert.Len(t, progress, len(recs), "the parser logs only its progress:\n%s", res.Stderr)

	waitAllSent(t, openDB(t, dsn), n)
	stopIntegrator(t, in)
	crm.Signal(syscall.SIGTERM)
	code, err := crm.Wait(15 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 0, code, crm.Output())

	recs = testbin.JSONLines(t, in.Output())
	start := withMsg(recs, "integrator starting")
	require.Len(t, start, 1, in.Output())
	assert.Contains(t, start[0]["dsn"], ":***@")
	assert.Equal(t, "***", start[0]["api_token"])
	assert.NotEmpty(t, withMsg(recs, "delivery failed"), "LOG_LEVEL=debug logs the CRM's 500s:\n%s", in.Output())
	stop := withMsg(recs, "integrator stopped")
	require.Len(t, stop, 1, in.Output())
	assert.Equal(t, float64(n), stop[0]["delivered"])

	recs = testbin.JSONLines(t, crm.Output())
	require.Len(t, withMsg(recs, "httpapi starting"), 1, crm.Output())
	stats := withMsg(recs, "mockcrm stats")
	require.NotEmpty(t, stats, crm.Output())
	assert.Equal(t, float64(n), stats[len(stats)-1]["accepted"], "the last statistics")
	require.Len(t, withMsg(recs, "httpapi stopped"), 1, crm.Output())

	for name, out := range map[string]string{"parser": res.Stderr, "integrator": in.Output(), "httpapi": crm.Output()} {
		assert.NotContains(t, out, password, "%s logs the DSN's password", name)
		assert.NotContains(t, out, apiToken, "%s logs the API token", name)
	}
}

// withMsg returns the records whose message is msg.
func withMsg(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// TestFatalErrorsInBothFormats runs each program into a fatal error or a
// usage error, as text and as JSON: the last line is the error — "name: …"
// or a JSON record at level ERROR with the exit code — every line of the
// JSON runs is a JSON object, and no line holds the DSN's password.
func TestFatalErrorsInBothFormats(t *testing.T) {
	const password = "pw-5ecret-0d4e"
	unreachable := "DSN=postgres://goquiz:" + password + "@127.0.0.1:1/goquiz?sslmode=disable"
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	tests := []struct {
		name, program string
		env           []string
		args          []string
		code          int
		msg           string
		lines         int // lines before the error
	}{
		{"unreachable database", "parser", []string{unreachable, "CONNECT_TIMEOUT=1s"}, []string{"10"}, 1, "connect to PostgreSQL at postgres://goquiz:***@127.0.0.1:1/goquiz", 0},
		{"bad value", "parser", []string{"CHUNK_SIZE=0"}, []string{"10"}, 2, "invalid configuration: CHUNK_SIZE must be between 1 and 1000000 (see parser -h)", 0},
		{"no argument", "parser", nil, nil, 2, "expected one argument", 0},
		{"unreachable database", "integrator", []string{unreachable, "CONNECT_TIMEOUT=1s", "API_TOKEN=" + apiToken}, nil, 1, "connect to PostgreSQL at postgres://goquiz:***@127.0.0.1:1/goquiz", 1},
		{"bad value", "integrator", []string{"MAX_ATTEMPTS=-1"}, nil, 2, "MAX_ATTEMPTS must not be negative", 0},
		{"unknown command", "integrator", nil, []string{"stats"}, 2, `unknown command "stats"`, 0},
		{"port taken", "httpapi", []string{"API_LISTEN=" + taken.Addr().String()}, nil, 1, "address already in use — set API_LISTEN to a free host:port", 0},
		{"bad value", "httpapi", []string{"FAIL_RATE=2"}, nil, 2, "FAIL_RATE: 2 is not between 0 and 1", 0},
		{"bad flag", "httpapi", nil, []string{"-port=1"}, 2, "flag provided but not defined: -port (see httpapi -h)", 0},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json"} {
			t.Run(tt.program+" "+tt.name+" "+format, func(t *testing.T) {
				bin := testbin.BuildNoRace(t, "goquiz/cmd/"+tt.program)
				res := testbin.Run(t, bin, append([]string{"LOG_FORMAT=" + format}, tt.env...), nil, tt.args...)
				assert.Equal(t, tt.code, res.Code, res.Stderr)
				assert.Empty(t, res.Stdout)
				assert.NotContains(t, res.Stderr, password)
				assert.NotContains(t, res.Stderr, apiToken)
				lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
				require.Len(t, lines, tt.lines+1, res.Stderr)
				if format == "text" {
					assert.True(t, strings.HasPrefix(lines[tt.lines], tt.program+": "), lines[tt.lines])
					assert.Contains(t, lines[tt.lines], tt.msg)
					return
				}
				recs := testbin.JSONLines(t, res.Stderr)
				last := recs[len(recs)-1]
				assert.Equal(t, "ERROR", last["level"])
				assert.Contains(t, last["msg"], tt.msg)
				assert.Equal(t, tt.program, last["program"])
				assert.Equal(t, float64(tt.code), last["exit_code"])
			})
		}
	}
}

// TestUnknownLogFormat: a usage error, on one line of text since the
// format asked for is unknown.
func TestUnknownLogFormat(t *testing.T) {
	for _, program := range []string{"parser", "integrator", "httpapi"} {
		t.Run(program, func(t *testing.T) {
			res := testbin.Run(t, testbin.BuildNoRace(t, "goquiz/cmd/"+program), []string{"LOG_FORMAT=yaml"}, nil)
			assert.Equal(t, 2, res.Code)
			assert.Equal(t, program+`: invalid configuration: LOG_FORMAT="yaml" is not text or json (see `+program+" -h)\n", res.Stderr)
		})
	}
}

// TestHelpNamesLogFormat: -h lists LOG_FORMAT with its default.
func TestHelpNamesLogFormat(t *testing.T) {
	for _, program := range []string{"parser", "integrator", "httpapi"} {
		res := testbin.Run(t, testbin.BuildNoRace(t, "goquiz/cmd/"+program), nil, nil, "-h")
		require.Equal(t, 0, res.Code, program)
		assert.Regexp(t, `\n  LOG_FORMAT +text +text, or json`, res.Stdout, program)
	}
}
