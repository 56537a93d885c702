// Command demo runs goquiz's whole workflow on this machine and checks the
// result: it starts a throwaway PostgreSQL cluster (unless DSN is set), the
// mock CRM with faults switched on, the integrators, and the parser over a
// generated CSV file, shows the progress of both stages live, and ends with
// a summary that verifies every customer reached the CRM exactly once.
//
// Run it from the repository with
//
//	go run ./cmd/demo [-n 100000]
//
// and see go run ./cmd/demo -h for the flags and variables. It exits 0 when
// the check passed, 1 when it failed or the demo could not run, 2 on bad
// usage, and 130 when interrupted; every process and temporary file it
// started is cleaned up in each case.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stdout)
	if errors.Is(err, errHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v (see demo -h)\n", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the demo at once
	}()
	err = run(ctx, opts, os.Stdout)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped and removed")
		os.Exit(exitInterrupted)
	case errors.Is(err, errCheckFailed):
		os.Exit(exitFailure) // the summary said why
	default:
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(exitFailure)
	}
}
