package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// options are the demo's settings, from its flags and environment.
type options struct {
	// n is the number of customers generated and loaded.
	n int64
	// integrators is the number of integrator processes.
	integrators int
	// timeout bounds the whole demo.
	timeout time.Duration
	// keep keeps the temporary directory (CSV file, logs, binaries).
	keep bool
	// reset empties the customers table of DSN's database first.
	reset bool
	// dsn is the database to use (DSN); empty: start a throwaway cluster.
	dsn string
	// binDir holds prebuilt parser, integrator and httpapi (BIN_DIR);
	// empty: build them.
	binDir string
	// seed is the seed of the generated customers.
	seed int64
	// crm is the API of the mock CRM and the integrators (CRM).
	crm crmMode
}

// errHelp reports that -h was asked for and the help was printed.
var errHelp = errors.New("help requested")

const usageText = `Usage: go run ./cmd/demo [flags]

Runs goquiz's whole workflow and checks it: builds parser, integrator and
httpapi, starts a throwaway PostgreSQL cluster from the server binaries on this
machine (as the postgres user when run as root), the mock CRM with a rate
limit and faults switched on (2,000 requests per second, 10% 500s, 5% 429s
with Retry-After 1s, 2-7ms latency), integrators (two by default), then the
parser over a generated CSV file of N customers. It shows both stages live,
then a summary that checks itself: the parser exited 0, N rows stored, N rows
sent, N customers accepted by the CRM, 0 duplicates. Exit status: 0 when the
check passed, 1 when it failed or the demo could not run, 2 on bad usage, 130
when interrupted. Every process and temporary file it started is removed at
the end, also on Ctrl-C; when the check fails the logs are kept and their
paths printed.

Flags:
{{flags}}
Environment:
  DSN      use this PostgreSQL database instead of a throwaway cluster; its
           customers table must be empty (or use -reset, which DELETES its
           rows) so that the check can count
  BIN_DIR  directory holding prebuilt parser, integrator and httpapi binaries;
           unset: they are built with the go command into the temporary
           directory (run the demo inside the repository)
  TMPDIR   where the temporary directory goes
  CRM      the API the mock CRM serves and the integrators speak: goquiz
           (unset: goquiz's own body, POST, Idempotency-Key, 200), or
           hubspot: HubSpot's contacts, with examples/hubspot/contact.json
           as BODY_TEMPLATE, 201 as success, and GIVE_UP_ON=400,409, so
           that a customer whose email an earlier one has is rejected (409)
           and the check counts it (docs/crm-api.md)

Any variable of the three programs (see their -h) set in the environment is
passed on and overrides the demo's choice, for example
  FAIL_RATE=0.3 HANG_RATE=0.001 HANG_FOR=3s go run ./cmd/demo -n 20000
except DSN, API_LISTEN, API_ENDPOINT and REJECTS, which the demo sets.
`

// parseFlags reads the flags of args and the environment. On -h it writes
// the help to help and returns errHelp.
func parseFlags(args []string, help io.Writer) (options, error) {
	o := options{dsn: os.Getenv("DSN"), binDir: os.Getenv("BIN_DIR")}
	var err error
	if o.crm, err = modeOf(os.Getenv("CRM")); err != nil {
		return o, err
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int64Var(&o.n, "n", 100_000, "number of customers to generate, load and deliver")
	fs.IntVar(&o.integrators, "integrators", 2, "number of integrator processes delivering side by side")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up, and fail, after this long")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (CSV file, logs, binaries) and print its path")
	fs.BoolVar(&o.reset, "reset", false, "with DSN set: delete every row of its customers table first")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the generated customers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var flags strings.Builder
			fs.SetOutput(&flags)
			fs.PrintDefaults()
			fmt.Fprint(help, strings.Replace(usageText, "{{flags}}", flags.String(), 1))
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case o.integrators < 1 || o.integrators > 32:
		return o, errors.New("-integrators must be between 1 and 32")
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	case o.reset && o.dsn == "":
		return o, errors.New("-reset needs DSN: the throwaway cluster starts empty anyway")
	}
	return o, nil
}
