package cli_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/internal/cli"
	"goquiz/internal/testbin"
)

// spec is a program configuration as the mains have them.
type spec struct {
	Chunk   int           `envconfig:"CLI_TEST_CHUNK" desc:"rows per chunk"`
	Timeout time.Duration `envconfig:"CLI_TEST_TIMEOUT" desc:"a time limit"`
	Name    string        `envconfig:"CLI_TEST_NAME" desc:"a name"`
	cli.Logging
}

// defaultSpec is spec's defaults, as the mains' defaultConfig.
func defaultSpec() spec {
	return spec{Chunk: 10, Timeout: time.Second, Logging: cli.DefaultLogging}
}

func (s *spec) Validate() error {
	if s.Chunk < 1 {
		return errors.New("CLI_TEST_CHUNK must be positive")
	}
	return nil
}

func TestStart(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		ok       bool
		code     int
		rest     []string
		stdout   string // a part of it
		stderr   string // the whole of it; "" when empty
		jsonLine string // with LOG_FORMAT=json: the message of the one JSON line
	}{
		{name: "defaults", args: []string{"a", "b"}, ok: true, rest: []string{"a", "b"}},
		{name: "text", env: map[string]string{"LOG_FORMAT": "text"}, ok: true},
		{name: "help", args: []string{"-h"}, stdout: "LOG_FORMAT"},
		{name: "help long", args: []string{"--help"}, stdout: "CLI_TEST_CHUNK"},
		{name: "unknown flag", args: []string{"-x"}, code: 2, stderr: "prog: flag provided but not defined: -x (see prog -h)\n"},
		{name: "unparsable value", env: map[string]string{"CLI_TEST_TIMEOUT": "5"}, code: 2,
			stderr: `prog: invalid configuration: CLI_TEST_TIMEOUT="5" is not a duration such as 250ms, 5s or 1m (see prog -h)` + "\n"},
		{name: "invalid value", env: map[string]string{"CLI_TEST_CHUNK": "0"}, code: 2,
			stderr: "prog: invalid configuration: CLI_TEST_CHUNK must be positive (see prog -h)\n"},
		{name: "unknown log format", env: map[string]string{"LOG_FORMAT": "xml"}, code: 2,
			stderr: `prog: invalid configuration: LOG_FORMAT="xml" is not text or json (see prog -h)` + "\n"},
		{name: "log format in capitals", env: map[string]string{"LOG_FORMAT": "JSON"}, code: 2,
			stderr: `prog: invalid configuration: LOG_FORMAT="JSON" is not text or json (see prog -h)` + "\n"},
		{name: "json", env: map[string]string{"LOG_FORMAT": "json"}, ok: true},
		{name: "json, invalid value", env: map[string]string{"LOG_FORMAT": "json", "CLI_TEST_CHUNK": "0"}, code: 2,
			jsonLine: "invalid configuration: CLI_TEST_CHUNK must be positive (see prog -h)"},
		{name: "json, unknown flag", env: map[string]string{"LOG_FORMAT": "json"}, args: []string{"-x"}, code: 2,
			jsonLine: "flag provided but not defined: -x (see prog -h)"},
		{name: "json, help", env: map[string]string{"LOG_FORMAT": "json"}, args: []string{"-h"}, stdout: "VARIABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LOG_FORMAT", "") // empty: text
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			s := defaultSpec()
			var stdout, stderr bytes.Buffer
			out, rest, code, ok := cli.Start("prog", "Usage: prog", &s, tt.args, &stdout, &stderr)
			require.NotNil(t, out)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.code, code)
			if tt.ok {
				assert.Equal(t, tt.rest, rest)
				assert.Equal(t, tt.env["LOG_FORMAT"] == "json", out.JSON())
			}
			if tt.stdout != "" {
				assert.Contains(t, stdout.String(), "Usage: prog")
				assert.Contains(t, stdout.String(), tt.stdout)
			} else {
				assert.Empty(t, stdout.String())
			}
			if tt.jsonLine != "" {
				rec := testbin.JSONLines(t, stderr.String())
				require.Len(t, rec, 1)
				assert.Equal(t, tt.jsonLine, rec[0]["msg"])
				assert.Equal(t, "ERROR", rec[0]["level"])
				assert.Equal(t, "prog", rec[0]["program"])
				assert.Equal(t, float64(tt.code), rec[0]["exit_code"])
				return
			}
			assert.Equal(t, tt.stderr, stderr.String())
		})
	}
}

func TestStartLoadsTheEnvironment(t *testing.T) {
	t.Setenv("CLI_TEST_CHUNK", "7")
	t.Setenv("LOG_FORMAT", "") // restored after the test
	require.NoError(t, os.Unsetenv("LOG_FORMAT"))
	s := defaultSpec()
	_, _, _, ok := cli.Start("prog", "Usage: prog", &s, nil, &bytes.Buffer{}, &bytes.Buffer{})
	require.True(t, ok)
	assert.Equal(t, spec{Chunk: 7, Timeout: time.Second, Logging: cli.Logging{LogFormat: "text"}}, s)
}

func TestUsageWritesTheDefaults(t *testing.T) {
	var w bytes.Buffer
	s := defaultSpec()
	cli.Usage(&w, "Usage: prog\n", &s)
	assert.Equal(t, `Usage: prog

Environment:
  VARIABLE          DEFAULT  MEANING
  CLI_TEST_CHUNK    10       rows per chunk
  CLI_TEST_TIMEOUT  1s       a time limit
  CLI_TEST_NAME     (unset)  a name
  LOG_FORMAT        text     `+cli.Vars(cli.Logging{})[0].Meaning+"\n", w.String())
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 250 * time.Millisecond: "250ms", 5 * time.Second: "5s", 5 * time.Minute: "5m",
		90 * time.Second: "1m30s", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s",
	} {
		assert.Equal(t, want, cli.FormatDuration(d), "%d", d)
	}
}

func TestOutput(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Setenv("LOG_FORMAT", format)
			var w bytes.Buffer
			out, err := cli.NewOutput("prog", &w)
			require.NoError(t, err)
			out.Logger(nil).Info("hello", "n", 3, "wait", 1500*time.Millisecond)
			out.Logger(nil).Debug("not at info")
			code := out.Fail(cli.ExitFailure, errors.New("connect to db:\n\tconnection  refused"))
			assert.Equal(t, cli.ExitFailure, code)
			lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
			require.Len(t, lines, 2, w.String())
			if format == "text" {
				assert.Regexp(t, `^time=\S+ level=INFO msg=hello n=3 wait=1.5s$`, lines[0])
				assert.Equal(t, "prog: connect to db: connection refused", lines[1])
				return
			}
			rec := testbin.JSONLines(t, w.String())
			assert.Equal(t, "hello", rec[0]["msg"])
			assert.Equal(t, float64(3), rec[0]["n"])
			assert.Equal(t, "1.5s", rec[0]["wait"], "a duration as text, as the text handler writes it")
			assert.Equal(t, "connect to db: connection refused", rec[1]["msg"])
			assert.Equal(t, "ERROR", rec[1]["level"])
			assert.Equal(t, float64(1), rec[1]["exit_code"])
		})
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"a\n  b\tc ", 0, "a b c"},
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"longer than ten", 10, "longer tha…"},
		{"naïve café", 3, "na…"}, // "ï" is two bytes: not cut in half
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, cli.OneLine(tt.in, tt.max), "%q %d", tt.in, tt.max)
	}
}

func TestJoinErrors(t *testing.T) {
	assert.NoError(t, cli.JoinErrors())
	assert.NoError(t, cli.JoinErrors(nil, nil))
	assert.EqualError(t, cli.JoinErrors(errors.New("A bad"), nil, errors.New("B bad")), "A bad; B bad")
}
