package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"goquiz/internal/testbin"
)

// BouncerINI is the configuration a Bouncer runs with, as a template:
// PgBouncer's stock settings but for where it listens, how it
// authenticates and the pool's mode and size. %[1]d is the port of the
// server, %[2]d PgBouncer's own port, %[3]s the directory of its files,
// %[4]s the pool mode; BouncerOptions.Settings are appended to the
// [pgbouncer] section. docs/pgbouncer.md shows it.
const BouncerINI = `[databases]
; every database of the server, under its own name
* = host=127.0.0.1 port=%[1]d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %[2]d
unix_socket_dir =
pidfile =
auth_type = trust
auth_file = %[3]s/userlist.txt
admin_users = postgres
pool_mode = %[4]s
max_client_conn = 500
default_pool_size = 20
`

// BouncerOptions tunes a Bouncer.
type BouncerOptions struct {
	// PoolMode is pool_mode: "transaction" when empty.
	PoolMode string
	// Settings are extra settings of the [pgbouncer] section, name to
	// value (ignore_startup_parameters, say).
	Settings map[string]string
	// Log receives PgBouncer's log; nil discards it.
	Log *os.File
	// Password, when set, is the password PgBouncer asks of the DSN's
	// user (auth_type = scram-sha-256, the password in its auth_file),
	// as in production; unset, it lets users in without one (trust).
	Password string
}

// Bouncer is a running PgBouncer in front of a server.
type Bouncer struct {
	dir      string
	port     int
	password string // asked of clients, if set (BouncerOptions.Password)
	ini      string
	cmd      *exec.Cmd
	exited   chan struct{}
	once     sync.Once
}

// ErrNoBouncer reports that PgBouncer is not installed.
var ErrNoBouncer = errors.New("pgbouncer is not installed (install it with: apt-get install -y pgbouncer)")

// BouncerBin returns the path of the pgbouncer program: in PATH or where
// Debian installs it.
func BouncerBin() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if isExec(p) {
			return p, nil
		}
	}
	return "", ErrNoBouncer
}

// StartBouncer starts PgBouncer on a free loopback port in front of the
// server of dsn (a URL; its host must be 127.0.0.1), every database of the
// server reachable through it under its own name, users let in without a
// password (auth_type = trust: the throwaway clusters trust loopback
// connections too). Run as root, it runs as the postgres user, since
// PgBouncer refuses to run as root. Stop it with Stop.
func StartBouncer(ctx context.Context, dsn string, opts BouncerOptions) (*Bouncer, error) {
	bin, err := BouncerBin()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	serverPort, err := strconv.Atoi(u.Port())
	if err != nil {
		return nil, fmt.Errorf("no port in DSN %s", dsn)
	}
	user := u.User.Username()
	if user == "" {
		user = "postgres"
	}
	mode := opts.PoolMode
	if mode == "" {
		mode = "transaction"
	}
	var cred *syscall.Credential
	base := os.TempDir()
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return nil, fmt.Errorf("running as root and PgBouncer refuses to: %w", err)
		}
		base = "/tmp"
	}
	b := &Bouncer{password: opts.Password}
	if b.dir, err = os.MkdirTemp(base, "goquiz-pgbouncer-"); err != nil {
		return nil, fmt.Errorf("create PgBouncer directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "userlist.txt"), []byte(userlist(user, opts.Password)), 0o644); err != nil {
		b.remove()
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(b.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			b.remove()
			return nil, fmt.Errorf("hand PgBouncer directory to postgres: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		if b.port, err = testbin.FreePort(); err == nil {
			err = b.start(ctx, bin, serverPort, mode, opts, cred)
		}
		if err == nil {
			return b, nil
		}
		if attempt == 4 || ctx.Err() != nil {
			b.remove()
			return nil, err
		}
	}
}

// userlist returns PgBouncer's auth_file: user with password, doubled
// quotes inside quotes as PgBouncer reads them.
func userlist(user, password string) string {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return quote(user) + " " + quote(password) + "\n"
}

// postgresUser returns the credentials of the postgres user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user to run as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// start writes the configuration for b.port, runs PgBouncer and waits
// until it takes connections.
func (b *Bouncer) start(ctx context.Context, bin string, serverPort int, mode string, opts BouncerOptions, cred *syscall.Credential) error {
	var ini strings.Builder
	fmt.Fprintf(&ini, BouncerINI, serverPort, b.port, b.dir, mode)
	names := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&ini, "%s = %s\n", k, opts.Settings[k])
	}
	if opts.Password != "" {
		ini.WriteString("auth_type = scram-sha-256\n") // the last one counts
	}
	b.ini = ini.String()
	path := filepath.Join(b.dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(b.ini), 0o644); err != nil {
		return err
	}
	// Not tied to ctx: it lives until Stop or our death.
	cmd := exec.Command(bin, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pgbouncer: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.cmd, b.exited = cmd, exited

	// Its admin console answers once it listens, whether or not the
	// server does.
	db, err := sql.Open("postgres", b.DSN("pgbouncer")+"&binary_parameters=yes")
	if err != nil {
		return err
	}
	defer db.Close()
	return waitReady(ctx, "pgbouncer", b.port, 10*time.Second, exited, b.kill, "BouncerOptions.Log", func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, `SHOW VERSION`)
		return err
	})
}

// DSN returns a connection string for the named database through
// PgBouncer, with the password it asks for, if any.
func (b *Bouncer) DSN(dbname string) string {
	u := url.User("postgres")
	if b.password != "" {
		u = url.UserPassword("postgres", b.password)
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", u, b.port, dbname)
}

// Port is PgBouncer's TCP port on 127.0.0.1.
func (b *Bouncer) Port() int { return b.port }

// INI returns the configuration PgBouncer runs with.
func (b *Bouncer) INI() string { return b.ini }

// kill stops PgBouncer at once and waits for it.
func (b *Bouncer) kill() {
	if b.cmd != nil {
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// Stop stops PgBouncer (SIGINT: at once, closing every connection) and
// removes its files.
func (b *Bouncer) Stop() error {
	var err error
	b.once.Do(func() {
		_ = b.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			err = errors.New("pgbouncer did not stop within 10s")
			b.kill()
		}
		b.remove()
	})
	return err
}

func (b *Bouncer) remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// Bouncing starts a PgBouncer in transaction mode (or as opts say) in
// front of the server of dsn for the test, stopped when it ends, and
// returns it with dsn pointed through it (with opts.Password, if set). Without PgBouncer installed it
// skips the test, or fails it under CI=true.
func Bouncing(t testing.TB, dsn string, opts BouncerOptions) (*Bouncer, string) {
	t.Helper()
	if _, err := BouncerBin(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := StartBouncer(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	u.Host = fmt.Sprintf("127.0.0.1:%d", b.Port())
	if opts.Password != "" {
		u.User = url.UserPassword(u.User.Username(), opts.Password)
	}
	return b, u.String()
}
