package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec is how to start a program.
type Spec struct {
	// Name names the process in messages; the binary's name when empty.
	Name string
	// Path is the binary's path, and Args its arguments.
	Path string
	Args []string
	// Env is added to this process's environment; a variable set twice
	// takes its last value.
	Env []string
	// Stdin, when not nil, is the process's standard input, typically
	// the read end of an os.Pipe fed by the caller (close it once the
	// process started).
	Stdin *os.File
	// Output receives the process's standard output and error; discarded
	// when nil. An *os.File is handed to the process as it is.
	Output io.Writer
	// Grace is how long the process may take to exit after the SIGTERM of
	// Stop (or of the end of Start's context) before it is killed; zero
	// kills it at once.
	Grace time.Duration
	// OwnGroup starts the process in a process group of its own, so that
	// a Ctrl-C on the terminal reaches only its parent, which stops it in
	// turn; the signals of Stop go to the whole group, and the process
	// gets SIGTERM if its parent dies.
	OwnGroup bool
}

// Process is a program running in the background.
type Process struct {
	// Name names it in messages.
	Name string
	// Started is when it started, and Ended when it exited (zero until
	// then).
	Started, Ended time.Time

	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start starts the program of s. It gets SIGTERM when ctx ends or Stop is
// called, and is killed s.Grace later if it still runs.
func Start(ctx context.Context, s Spec) (*Process, error) {
	name := s.Name
	if name == "" {
		name = filepath.Base(s.Path)
	}
	cctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(cctx, s.Path, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	if s.Stdin != nil {
		cmd.Stdin = s.Stdin
	}
	if s.Output != nil {
		cmd.Stdout, cmd.Stderr = s.Output, s.Output
	}
	if s.OwnGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	} else {
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	}
	if s.Grace <= 0 {
		cmd.Cancel = func() error { return cmd.Process.Kill() }
	}
	cmd.WaitDelay = s.Grace
	p := &Process{Name: name, cmd: cmd, cancel: cancel, done: make(chan struct{}), Started: time.Now()}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.Ended = time.Now()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited tells whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends the process SIGTERM (kills it at once without a Grace, or
// Grace later if it still runs), waits for it to exit and returns its exit
// code.
func (p *Process) Stop() int {
	p.cancel()
	<-p.done
	return p.ExitCode()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// Kill kills the process at once, as a crash would, and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits up to timeout for the process to exit and returns its exit
// code, or an error when it is still running or could not be waited for.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %s", p.Name, timeout)
	}
	if _, ok := p.err.(*exec.ExitError); p.err != nil && !ok {
		return -1, p.err
	}
	return p.ExitCode(), nil
}

// Err is the error of the process's end: nil when it exited 0, an
// *exec.ExitError otherwise. Only valid after it exited.
func (p *Process) Err() error { return p.err }

// ExitCode is the process's exit code, -1 when a signal ended it or it
// has not exited.
func (p *Process) ExitCode() int {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Status describes how the process ended ("exit status 1", "signal:
// killed"), or "did not run".
func (p *Process) Status() string {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return "did not run"
	}
	return p.cmd.ProcessState.String()
}

// CPU is the CPU time, user and system, the process used; zero until it
// exited.
func (p *Process) CPU() time.Duration {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return 0
	}
	return p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
}

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

// LastLines returns the last n lines of s, without the final line break.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Group writes v with thousands separators: 100,000.
func Group(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
