// Package cli holds what goquiz's three mains share: configuration from the
// environment (each main's defaultConfig holds its defaults, which -h
// prints, see Vars), the defaults of the database variables two of them
// share, help text, logs in the format LOG_FORMAT names, and one-line
// fatal errors. It never exits: each main has a run function that returns
// its exit code, and only main calls os.Exit with it.
package cli

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// Exit codes shared by the binaries.
const (
	ExitOK      = 0
	ExitFailure = 1 // the work could not be done
	ExitUsage   = 2 // bad arguments or configuration
)

// Spec is a program's configuration: a pointer to a struct whose envconfig
// tags name its variables (embedding Logging, so that -h lists
// LOG_FORMAT), filled with the program's defaults, which checks the
// values it was given. The defaults are the struct's values, not default
// tags: a variable that is unset leaves its field as it is, so that the
// one value serves the program, its -h text and its documentation.
type Spec interface {
	Validate() error
}

// Start begins a run of the program name. It reads LOG_FORMAT, parses args
// (-h or --help writes the help, synopsis and the variables of spec with
// their defaults, to stdout), loads the environment into spec and validates it. It returns
// the output the run reports to and the positional arguments, with ok
// true; or, when the run is over already — after the help, or a usage or
// configuration error it reported on stderr — ok false and the exit code.
func Start(name, synopsis string, spec Spec, args []string, stdout, stderr io.Writer) (out *Output, rest []string, code int, ok bool) {
	out, formatErr := NewOutput(name, stderr)
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			Usage(stdout, synopsis, spec)
			return out, nil, ExitOK, false
		}
		return out, nil, out.Fail(ExitUsage, fmt.Errorf("%v (see %s -h)", err, name)), false
	}
	if formatErr != nil {
		return out, nil, out.Fail(ExitUsage, fmt.Errorf("%w (see %s -h)", formatErr, name)), false
	}
	if err := LoadEnv(spec); err != nil {
		return out, nil, out.Fail(ExitUsage, fmt.Errorf("%w (see %s -h)", err, name)), false
	}
	if err := spec.Validate(); err != nil {
		return out, nil, out.Fail(ExitUsage, fmt.Errorf("invalid configuration: %w (see %s -h)", err, name)), false
	}
	return out, flags.Args(), ExitOK, true
}

// LoadEnv fills spec (a pointer to a struct with envconfig tags) from the
// environment: the fields of variables that are unset keep their values.
// Its error is one line.
func LoadEnv(spec any) error {
	err := envconfig.Process("", spec)
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("invalid configuration: %s=%q is not %s", pe.KeyName, pe.Value, kind(pe.TypeName))
	}
	if err != nil {
		return fmt.Errorf("invalid configuration: %s", OneLine(err.Error(), 0))
	}
	return nil
}

// kind describes the values of a configuration field's type.
func kind(typeName string) string {
	switch typeName {
	case "time.Duration":
		return "a duration such as 250ms, 5s or 1m"
	case "int", "int64":
		return "an integer"
	case "uint64":
		return "a non-negative integer"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	}
	return "a valid " + typeName
}

// Usage writes the help text: the synopsis, then every environment
// variable of spec with its default (see Vars) and meaning.
func Usage(w io.Writer, synopsis string, spec any) {
	fmt.Fprintln(w, strings.TrimRight(synopsis, "\n"))
	fmt.Fprintln(w, "\nEnvironment:")
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, v := range Vars(spec) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, cmp.Or(v.Default, "(unset)"), v.Meaning)
	}
	tw.Flush()
}

// JoinErrors returns errs as one error on one line, "; " between them
// (errors.Join puts them on lines of their own); nil when there are none.
func JoinErrors(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// OneLine puts s, an error text that may span lines, on one line: runs of
// white space become one space. With max > 0 it is cut at max bytes (on a
// character boundary) and ends with "…" when cut.
func OneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if max > 0 && len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
