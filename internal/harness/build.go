// Package harness is the one way goquiz's tools and end-to-end tests run
// the programs and check a delivery: cmd/demo, cmd/bench, the e2e suite
// and the tests that run binaries (through internal/testbin). Build
// compiles the programs; Start runs one as a Process (environment added to
// the caller's, output captured, SIGTERM then a kill after a bound);
// WaitReady waits for it to answer (Answers, for the mock CRM) or listen
// (Listening, for integrators); ReadStore and WaitStore count the
// customers table by state, and CheckStore and CheckCRM say how a run
// falls short of every record delivered once, none twice.
package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The programs' main packages.
const (
	Parser     = "goquiz/cmd/parser"
	Integrator = "goquiz/cmd/integrator"
	HTTPAPI    = "goquiz/cmd/httpapi"
)

// Programs are the three programs a delivery runs: the parser, the
// integrator and the mock CRM.
var Programs = []string{Parser, Integrator, HTTPAPI}

// GoCommand finds the go command: on PATH, or in the Go installation the
// caller was built with.
func GoCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no go command on PATH nor at %s: install Go or set BIN_DIR to prebuilt binaries", p)
}

// Build compiles the main packages pkgs with the go command into dir,
// each binary named after its package's last element (dir/parser), with
// the race detector when race is set. It must run inside the module.
func Build(ctx context.Context, dir string, race bool, pkgs ...string) error {
	gobin, err := GoCommand()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, gobin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s %s: %v\n%s", gobin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Bin is the path of pkg's binary in dir, where Build put it.
func Bin(dir, pkg string) string { return filepath.Join(dir, filepath.Base(pkg)) }
