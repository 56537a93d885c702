// Package testbin builds goquiz's binaries for tests that run them as
// processes, and runs them.
package testbin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	key, name := pkg, filepath.Base(pkg)
	if race != raceEnabled { // only BuildNoRace under -race
		key, name = pkg+" norace", name+"-norace"
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
	path := filepath.Join(dir, name)
	args := []string{"build", "-o", path}
	if race {
		args = append(args, "-race")
	}
	args = append(args, pkg)
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
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

// Process is a binary running in the background.
type Process struct {
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
	err  error
	Name string
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
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &Process{cmd: cmd, out: out, done: make(chan struct{}), Name: filepath.Base(bin)}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.Name, p.out.String())
		}
	})
	return p
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// Kill kills the process at once, as a crash would, and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits up to timeout for the process to exit and returns its exit
// code, or an error when it is still running.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %s", p.Name, timeout)
	}
	if p.err == nil {
		return 0, nil
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	return -1, p.err
}

// Output returns what the process wrote so far to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// SyncBuffer is a bytes.Buffer that several goroutines may write to and
// read at once: a process's output, a logger's.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
