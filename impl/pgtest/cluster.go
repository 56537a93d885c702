// Package pgtest starts throwaway PostgreSQL clusters from the server
// binaries installed on the machine, for tests, the demo and the benchmark,
// and hands tests a fresh database each.
//
// Tests honour TEST_DSN when it is set; otherwise the first test that needs
// a database starts a private cluster on a free port with its socket in a
// temporary directory, and Main removes it when the tests end. When the
// process runs as root the cluster runs as the "postgres" system user, since
// PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver for readiness checks

	"goquiz/internal/testbin"
)

// Options tunes a cluster.
type Options struct {
	// Durable keeps fsync and synchronous commit on, as in production; tests
	// leave it off for speed (a crash of the machine is not what they test).
	Durable bool
	// Settings are extra server settings, name to value.
	Settings map[string]string
	// Log receives the server's output; nil discards it.
	Log *os.File
}

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	bindir  string
	dir     string
	port    int
	opts    Options
	cred    *syscall.Credential
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	removed bool
}

// ErrNoServer reports that no PostgreSQL server binaries were found.
var ErrNoServer = errors.New("no PostgreSQL server binaries found (looked in PATH, pg_config --bindir and /usr/lib/postgresql/*/bin; install them with: apt-get install -y postgresql)")

// BinDir finds the directory holding initdb and postgres (and the other
// server tools): through PATH,
// pg_config --bindir, or /usr/lib/postgresql/*/bin, newest version first.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// A link in PATH (as /usr/local/bin/initdb may be) stands for the
		// directory of the real one, which holds the other tools too
		// (pg_basebackup, pg_ctl).
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoServer
}

func versionOf(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initialises a new cluster in a temporary directory and starts it on
// a free loopback port. Stop it with Stop, which also removes its files.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bindir, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bindir: bindir, opts: opts}
	base := os.TempDir()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		base = "/tmp" // TMPDIR may sit where the postgres user cannot go
	}
	if err := c.create(ctx, base, "goquiz-pg-", "initdb", "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, err
	}
	return c, nil
}

// create makes the cluster's directory, a new one named prefix… in base,
// fills its data directory by running tool with -D and args (initdb,
// pg_basebackup), and starts the server on a free port; on failure it
// removes the files.
func (c *Cluster) create(ctx context.Context, base, prefix, tool string, args ...string) error {
	var err error
	c.dir, err = os.MkdirTemp(base, prefix)
	if err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.remove()
			return fmt.Errorf("hand cluster directory to postgres: %w", err)
		}
	}
	cmd := c.command(ctx, tool, append([]string{"-D", c.dataDir()}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.remove()
		return fmt.Errorf("%s: %w: %s", tool, err, lastLines(string(out), 5))
	}
	return c.startOnFreePort(ctx)
}

// startOnFreePort starts the server on a free port, trying another when
// the one picked was taken meanwhile; on failure it removes the files.
func (c *Cluster) startOnFreePort(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		var err error
		c.port, err = testbin.FreePort()
		if err == nil {
			err = c.start(ctx)
		}
		if err == nil {
			return nil
		}
		if attempt == 4 || ctx.Err() != nil {
			c.remove()
			return err
		}
	}
}

func (c *Cluster) dataDir() string   { return filepath.Join(c.dir, "data") }
func (c *Cluster) socketDir() string { return c.dir }

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// start runs the postmaster and waits until it accepts connections.
func (c *Cluster) start(ctx context.Context) error {
	args := []string{"-D", c.dataDir(), "-p", strconv.Itoa(c.port), "-k", c.socketDir(),
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning"}
	if !c.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	names := make([]string, 0, len(c.opts.Settings))
	for k := range c.opts.Settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-c", k+"="+c.opts.Settings[k])
	}
	// Not tied to ctx: the cluster lives until Stop, Kill or our death.
	cmd := c.command(context.Background(), "postgres", args...)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // never outlive the test process
	cmd.SysProcAttr.Setpgid = true              // keep terminal Ctrl-C to ourselves
	if c.opts.Log != nil {
		cmd.Stdout, cmd.Stderr = c.opts.Log, c.opts.Log
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()

	db, err := sql.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	return waitReady(ctx, "postgres", c.port, 30*time.Second, exited, c.Kill, "Options.Log", db.PingContext)
}

// DSN returns a connection string for the named database of the cluster.
func (c *Cluster) DSN(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, dbname)
}

// Port is the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// signal sends sig to the postmaster and waits for it to exit.
func (c *Cluster) signal(sig syscall.Signal, wait time.Duration) error {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("postgres did not stop within %s", wait)
	}
}

// Shutdown stops the server (fast shutdown: sessions are ended, work
// committed stays) and keeps its files, so Restart can bring it back.
func (c *Cluster) Shutdown() error { return c.signal(syscall.SIGINT, 30*time.Second) }

// Kill stops the server at once, as a crash would; Restart recovers it.
func (c *Cluster) Kill() { _ = c.signal(syscall.SIGKILL, 10*time.Second) }

// Restart starts the stopped server again on the same port.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Shutdown(); err != nil {
		return err
	}
	// A killed postmaster leaves its children a moment to notice.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.start(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down and removes its files.
func (c *Cluster) Stop() error {
	err := c.Shutdown()
	c.remove()
	return err
}

func (c *Cluster) remove() {
	if !c.removed && c.dir != "" {
		c.removed = true
		_ = os.RemoveAll(c.dir)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// waitReady waits until probe answers, for a server called name started
// on port, for at most within: it fails at once when the server exited
// (exited closed; logHint names the option that shows why) or ctx ended,
// killing it (kill) on the way out unless it exited.
func waitReady(ctx context.Context, name string, port int, within time.Duration, exited <-chan struct{}, kill func(), logHint string, probe func(context.Context) error) error {
	deadline := time.Now().Add(within)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited during start-up on port %d (set %s to see why)", name, port, logHint)
		case <-ctx.Done():
			kill()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			kill()
			return fmt.Errorf("%s not ready after %s: %w", name, within, err)
		}
	}
}
