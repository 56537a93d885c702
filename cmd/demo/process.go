package main

import (
	"context"
	"os"
	"strings"
	"time"

	"goquiz/internal/harness"
)

// stopGrace is how long a child may take to exit after SIGTERM before it is
// killed: the integrator finishes its requests in flight (REQUEST_TIMEOUT,
// 10s) and httpapi drains its connections (10s).
const stopGrace = 20 * time.Second

// child is a program the demo started, with its output going to a log file.
type child struct {
	*harness.Process
	logPath string
}

// startChild starts bin with args and env added to the demo's environment,
// its output going to logPath, in a process group of its own so that
// Ctrl-C on the terminal reaches only the demo, which then stops its
// children in order. The child gets SIGTERM when ctx ends or Stop is
// called, SIGKILL stopGrace later, and SIGTERM if the demo dies. exited, if
// not nil, receives the child when it exits.
func startChild(ctx context.Context, name, bin string, args, env []string, logPath string, exited chan<- *child) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	p, err := harness.Start(ctx, harness.Spec{Name: name, Path: bin, Args: args, Env: env, Output: logFile,
		Grace: stopGrace, OwnGroup: true})
	if err != nil {
		return nil, err
	}
	c := &child{Process: p, logPath: logPath}
	if exited != nil {
		go func() { <-p.Done(); exited <- c }()
	}
	return c, nil
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
	return "    " + strings.ReplaceAll(harness.LastLines(string(b), n), "\n", "\n    ")
}
