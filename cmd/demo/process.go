package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a child may take to exit after SIGTERM before it is
// killed: the integrator finishes its requests in flight (REQUEST_TIMEOUT,
// 10s) and httpapi drains its connections (10s).
const stopGrace = 20 * time.Second

// child is a program the demo started, with its output going to a log file.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
	ended   time.Time
}

// startChild starts bin with args and env, its output going to logPath, in
// a process group of its own so that Ctrl-C on the terminal reaches only the
// demo, which then stops its children in order. The child gets SIGTERM when
// ctx ends or stop is called, SIGKILL stopGrace later, and SIGTERM if the
// demo dies. exited, if not nil, receives the child when it exits.
func startChild(ctx context.Context, name, bin string, args, env []string, logPath string, exited chan<- *child) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	c := &child{name: name, logPath: logPath, cmd: cmd, cancel: cancel, done: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait() // the exit status is read from ProcessState
		c.ended = time.Now()
		close(c.done)
		if exited != nil {
			exited <- c
		}
	}()
	return c, nil
}

// stop sends the child SIGTERM (SIGKILL stopGrace later) and waits for it
// to exit, returning its exit code.
func (c *child) stop() int {
	c.cancel()
	<-c.done
	return c.exitCode()
}

// exited tells whether the child has exited.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exitCode is the child's exit code, -1 when a signal ended it; only valid
// after it exited.
func (c *child) exitCode() int {
	if c.cmd.ProcessState == nil {
		return -1
	}
	return c.cmd.ProcessState.ExitCode()
}

// status describes how the child ended.
func (c *child) status() string {
	if c.cmd.ProcessState == nil {
		return "did not run"
	}
	return c.cmd.ProcessState.String()
}

// tail returns the last n lines of the child's log, indented.
func (c *child) tail(n int) string {
	return tailFile(c.logPath, n)
}

// tailFile returns the last n lines of the file at path, indented.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
