package harness

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// pollEvery is how often the waits of this package look again.
const pollEvery = 50 * time.Millisecond

// ExitedError reports that a process exited while it was waited for.
type ExitedError struct {
	Name   string // the process's
	Status string // how it exited
}

// Error says which process exited and how.
func (e *ExitedError) Error() string {
	return fmt.Sprintf("%s exited at start (%s)", e.Name, e.Status)
}

// WaitReady calls ready every 50ms until it returns nil, and returns nil
// then. It gives up when ctx ends (with ctx's error), when p (unless nil)
// exits first (with an *ExitedError), or when timeout passes: with the
// error "notReady after timeout: the last error of ready".
func WaitReady(ctx context.Context, p *Process, timeout time.Duration, notReady string, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var done <-chan struct{}
	if p != nil {
		done = p.Done()
	}
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s after %s: %w", notReady, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return &ExitedError{Name: p.Name, Status: p.Status()}
		case <-time.After(pollEvery):
		}
	}
}

// Answers is the readiness of an HTTP server at base, such as the mock
// CRM (httpapi): it answers GET base+path, whatever the status (a 401
// under API_TOKEN included).
func Answers(client *http.Client, base, path string) func(context.Context) error {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
}

// Listening is the readiness of n integrators on the database of db: they
// hold their LISTEN connections, so that a stored record wakes them.
func Listening(db *sql.DB, n int) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var got int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query ILIKE 'LISTEN%'`).Scan(&got)
		if err == nil && got < n {
			err = fmt.Errorf("%d integrators listening, want %d", got, n)
		}
		return err
	}
}

// FreePort returns a TCP port of the loopback interface that was free a
// moment ago: another process may take it before the caller binds it, so
// a caller that can retries with another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr returns a loopback host:port whose port was free a moment ago.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}
