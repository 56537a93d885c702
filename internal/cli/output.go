package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kelseyhightower/envconfig"
)

// Log formats, the values of LOG_FORMAT.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Logging is the setting of what a program writes to standard error.
// Embed it in a program's configuration so that -h lists it, set to
// DefaultLogging among the program's defaults.
type Logging struct {
	LogFormat string `envconfig:"LOG_FORMAT" desc:"text, or json: every line written to standard error is then a JSON object (log/slog's JSON handler), the fatal error at exit included"`
}

// DefaultLogging is the default of Logging: text (LOG_FORMAT unset or
// empty is text).
var DefaultLogging = Logging{LogFormat: FormatText}

// Output is where a program reports on standard error: its log records
// and the one-line error it ends with, as text or, under LOG_FORMAT=json,
// as one JSON object per line.
type Output struct {
	name string
	w    io.Writer
	json bool
}

// NewOutput returns the output of the program name on w, in the format
// LOG_FORMAT names (unset or empty: text). An unknown format is an error;
// the output returned with it writes text, so that the error can be
// reported.
func NewOutput(name string, w io.Writer) (*Output, error) {
	o := &Output{name: name, w: w}
	var l Logging
	if err := envconfig.Process("", &l); err != nil {
		return o, fmt.Errorf("invalid configuration: %s", OneLine(err.Error(), 0))
	}
	switch l.LogFormat {
	case FormatText, "":
	case FormatJSON:
		o.json = true
	default:
		return o, fmt.Errorf("invalid configuration: LOG_FORMAT=%q is not %s or %s", l.LogFormat, FormatText, FormatJSON)
	}
	return o, nil
}

// JSON tells whether the output is JSON.
func (o *Output) JSON() bool { return o.json }

// Logger returns a logger writing records at level and above: slog's text
// handler, or its JSON handler with durations written as the text handler
// writes them ("1.5s", not nanoseconds).
func (o *Output) Logger(level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if o.json {
		opts.ReplaceAttr = durationText
		return slog.New(slog.NewJSONHandler(o.w, opts))
	}
	return slog.New(slog.NewTextHandler(o.w, opts))
}

// durationText writes a duration attribute as its text.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// Fail reports err, the error that ends the run, on one line — "name: err"
// as text, a record at level ERROR with the exit code as JSON — and
// returns code.
func (o *Output) Fail(code int, err error) int {
	msg := OneLine(err.Error(), 0)
	if o.json {
		o.Logger(slog.LevelError).LogAttrs(context.Background(), slog.LevelError, msg,
			slog.String("program", o.name), slog.Int("exit_code", code))
		return code
	}
	fmt.Fprintf(o.w, "%s: %s\n", o.name, msg)
	return code
}

// IsTerminal tells whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
