// Package testbin builds goquiz's binaries for tests that run them as
// processes, and runs them: internal/harness's way, bound to a test (a
// failure fails it, what it started ends with it).
package testbin

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"goquiz/internal/harness"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// Build compiles the main package pkg (for example "goquiz/cmd/parser")
// once per test process, with the race detector when the tests have it, and
// returns the binary's path. Main's cleanup is not needed: the binaries go
// to a directory removed by Cleanup.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, raceEnabled)
}

// BuildNoRace is Build without the race detector, even when the tests have
// it: for suites that run binaries under heavy load, where the detector's
// cost would dominate.
func BuildNoRace(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, false)
}

func build(t testing.TB, pkg string, race bool) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	key := pkg
	if race != raceEnabled { // only BuildNoRace under -race
		key = pkg + " norace"
	}
	if path, ok := built[key]; ok {
		return path
	}
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "goquiz-bin-")
		if err != nil {
			t.Fatal(err)
		}
	}
	out := dir
	if race != raceEnabled {
		out = filepath.Join(dir, "norace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := harness.Build(ctx, out, race, pkg); err != nil {
		t.Fatalf("go build %s: %v", pkg, err)
	}
	path := harness.Bin(out, pkg)
	built[key] = path
	return path
}

// Cleanup removes the built binaries; call it at the end of TestMain.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Result is what a finished process did.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Run runs bin with args and extra environment to its end, with stdin as its
// standard input (may be nil), failing the test if it does not finish
// within a minute.
func Run(t testing.TB, bin string, env []string, stdin []byte, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish: %s", filepath.Base(bin), strings.Join(args, " "), stderr.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s: %v", bin, err)
		}
		code = ee.ExitCode()
	}
	return Result{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// Process is a binary running in the background, its output captured.
type Process struct {
	*harness.Process
	out *SyncBuffer
}

// Start starts bin in the background with extra environment; the process
// is killed when the test ends if it still runs.
func Start(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	return StartWithStdin(t, bin, env, nil, args...)
}

// StartWithStdin is Start with the process reading stdin, typically the
// read end of an os.Pipe whose write end the test feeds at its own pace
// (close the read end once the process started). Being an *os.File, it is
// handed to the process as it is: Wait never waits for a copy of it.
func StartWithStdin(t testing.TB, bin string, env []string, stdin *os.File, args ...string) *Process {
	t.Helper()
	out := &SyncBuffer{}
	hp, err := harness.Start(context.Background(), harness.Spec{Path: bin, Args: args, Env: env, Stdin: stdin, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Process: hp, out: out}
	t.Cleanup(func() {
		if !p.Exited() {
			p.Kill()
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.Name, p.out.String())
		}
	})
	return p
}

// Output returns what the process wrote so far to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// SyncBuffer is a bytes.Buffer that several goroutines may write to and
// read at once: a process's output, a logger's.
type SyncBuffer = harness.SyncBuffer
