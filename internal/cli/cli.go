// Package cli holds what goquiz's three mains share: configuration from the
// environment, help text, and one-line fatal errors.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// Exit codes shared by the binaries.
const (
	ExitFailure = 1 // the work could not be done
	ExitUsage   = 2 // bad arguments or configuration
)

// LoadEnv fills spec (a pointer to a struct with envconfig tags) from the
// environment, applying its defaults.
func LoadEnv(spec any) error {
	err := envconfig.Process("", spec)
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("invalid configuration: %s=%q is not %s", pe.KeyName, pe.Value, kind(pe.TypeName))
	}
	if err != nil {
		return fmt.Errorf("invalid configuration: %s", oneLine(err.Error()))
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

const usageFormat = `{{range .}}  {{usage_key .}}	{{if usage_default .}}{{usage_default .}}{{else}}(unset){{end}}	{{usage_description .}}
{{end}}`

// Usage writes the help text: the synopsis, then every environment
// variable of spec with its default and description.
func Usage(w io.Writer, synopsis string, spec any) {
	fmt.Fprintln(w, strings.TrimRight(synopsis, "\n"))
	fmt.Fprintln(w, "\nEnvironment:")
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	_ = envconfig.Usagef("", spec, tw, usageFormat)
	tw.Flush()
}

// Args parses the command line of the program name: -h or --help prints
// the help (synopsis and the variables of spec) and exits 0; an unknown
// flag is fatal with ExitUsage. It returns the positional arguments.
func Args(name, synopsis string, spec any, args []string) []string {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			Usage(os.Stdout, synopsis, spec)
			os.Exit(0)
		}
		Fatal(name, ExitUsage, fmt.Errorf("%v (see %s -h)", err, name))
	}
	return flags.Args()
}

// Fatal prints "name: err" on one line to standard error and exits with
// code.
func Fatal(name string, code int, err error) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, oneLine(err.Error()))
	os.Exit(code)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
