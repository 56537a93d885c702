// Package postgres is goquiz's PostgreSQL store: the schema, bulk loading of
// customer chunks with their notification, claiming and settling deliveries
// under leases, and listening for notifications. It implements
// common.ChunkWriter and common.Queue.
package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// Channel is the NOTIFY channel on which a committed chunk is announced.
const Channel = "goquiz_customers"

// DefaultTimeout is the round-trip timeout (DB_TIMEOUT) when Options
// names none.
const DefaultTimeout = 30 * time.Second

// Options tunes Open and Listen.
type Options struct {
	// ConnectTimeout is how long an unreachable server is retried at
	// start (CONNECT_TIMEOUT); a chunk whose connection was lost is stored
	// again for as long.
	ConnectTimeout time.Duration
	// Timeout bounds every round trip (DB_TIMEOUT, DefaultTimeout when
	// zero): a request that gets no answer for this long fails and its
	// connection is closed. The server's own limits on goquiz's
	// transactions derive from it (see DB.begin).
	Timeout time.Duration
	// App names the sessions in pg_stat_activity (application_name,
	// unless the DSN sets one); "goquiz" when empty. Lost load sessions
	// are recognised by a name that starts with "goquiz".
	App string
	// EndLostLoads ends, while the store is open, the load sessions that
	// a lost client left waiting in the middle of a COPY (see reap.go).
	EndLostLoads bool
	// FoldCounts folds the rows the counting triggers append, every 10 s
	// while the store is open (see DB.FoldCounts): the daemons set it, so
	// that reading the counts stays cheap.
	FoldCounts bool
	// Logger receives what the store does by itself: lost sessions ended,
	// chunks stored again. Nil discards it.
	Logger *slog.Logger
	// NoMigrate leaves a database without goquiz's schema as it is: Open
	// does not create the schema (a dry run writes nothing); Migrate does
	// when called.
	NoMigrate bool
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) app() string {
	if o.App == "" {
		return "goquiz"
	}
	return o.App
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// DB is a connection pool to goquiz's database.
type DB struct {
	db      *sql.DB
	timeout time.Duration
	wait    time.Duration
	log     *slog.Logger
	// txLimits sets the server's limits of a transaction (see begin).
	txLimits string
	done     context.Context // done when Close was called: background work stops
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// Open connects to dsn, retrying for up to opts.ConnectTimeout while the server
// cannot be reached, and makes sure the schema exists. Every connection it
// opens bounds its round trips by opts.Timeout. The returned error never
// contains the DSN's password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	d := &DB{timeout: opts.timeout(), wait: opts.ConnectTimeout, log: opts.logger()}
	d.done, d.stop = context.WithCancel(context.Background())
	d.txLimits = fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %[1]d; SET LOCAL statement_timeout = %[1]d",
		d.timeout.Milliseconds())
	connector, err := connectorOf(dsn, opts.app(), dialer{timeout: d.timeout})
	if err != nil {
		return nil, fmt.Errorf("parse DSN %w", err)
	}
	d.db = sql.OpenDB(connector)
	d.db.SetMaxIdleConns(8)
	d.db.SetConnMaxIdleTime(5 * time.Minute)
	deadline := time.Now().Add(opts.ConnectTimeout)
	for attempt := 1; ; attempt++ {
		// The hosts of a DSN that lists several share CONNECT_TIMEOUT,
		// so that one that hangs leaves time for the others.
		err = d.Ping(withConnectBy(ctx, deadline))
		if err == nil {
			break
		}
		// The last try is at the deadline: CONNECT_TIMEOUT is waited in
		// full.
		delay := min(common.StorePause(attempt), time.Until(deadline))
		// A server that refuses connections or is starting may take them
		// in a moment; one that let a round trip go unanswered for the
		// timeout is not asked again.
		if ctx.Err() != nil || delay <= 0 || !retryable(err) || errors.Is(err, os.ErrDeadlineExceeded) {
			d.stop()
			d.db.Close()
			return nil, fmt.Errorf("connect to PostgreSQL at %s: %w%s", Redact(dsn), errors.Unwrap(err), Hint(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	if !opts.NoMigrate {
		if err := d.Migrate(ctx); err != nil {
			d.stop()
			d.db.Close()
			return nil, err
		}
	}
	if opts.EndLostLoads {
		seen := map[int]stalled{}
		// At once: a rerun may find a session lost long ago (see reap.go).
		d.every(0, d.timeout/reapEvery, func() { d.reapLost(seen) })
	}
	if opts.FoldCounts {
		d.every(foldCountsEvery, foldCountsEvery, d.foldCountsLogged)
	}
	return d, nil
}

// every runs fn after first and then every interval, in a goroutine of
// its own, until Close.
func (d *DB) every(first, interval time.Duration, fn func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		wait := time.NewTimer(first)
		defer wait.Stop()
		t := time.NewTicker(interval)
		defer t.Stop()
		for next := wait.C; ; next = t.C {
			select {
			case <-d.done.Done():
				return
			case <-next:
			}
			fn()
		}
	}()
}

// retryable tells whether a connection error may go away by waiting: the
// server is down or starting, not a wrong password or database, nor a
// connection parameter refused, nor a server TLS certificate the client
// did not accept.
func retryable(err error) bool {
	if certRefusal(err) != "" {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if strings.Contains(pqErr.Message, "unsupported startup parameter") || strings.HasPrefix(pqErr.Message, "no such database") {
			return false // PgBouncer's answers, under 08P01
		}
		// 57P03: cannot connect now (starting up or shutting down);
		// 53300: too many connections, for now.
		return pqErr.Code == "57P03" || pqErr.Code == "53300" || pqErr.Code.Class() == "08"
	}
	return true // network errors
}

// Hint returns what to do about a connection error, as a suffix for its
// message (" — the server refused the login…"), or "" when there is no
// advice. An error the server, or a proxy in front of it, answered with
// says so, and so does a server TLS certificate the client did not
// accept (see certRefusal); a login pg_hba.conf has no entry for is told
// from a wrong user or password. Only a connection that got no answer
// (refused, timed out, cut) asks whether the server is running.
func Hint(err error) string {
	if h := certRefusal(err); h != "" {
		return h
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case pqErr.Code == "28000" && strings.Contains(pqErr.Message, "pg_hba.conf"):
			return hbaHint(pqErr.Message)
		case pqErr.Code == "28000" && strings.HasPrefix(pqErr.Message, "role ") && strings.HasSuffix(pqErr.Message, " does not exist"):
			return " — the server has no such user: check the user in DSN, or create the role"
		case pqErr.Code == "28P01" || pqErr.Code == "28000":
			return " — the server refused the login: check the user and password in DSN"
		case pqErr.Code == "3D000" || strings.HasPrefix(pqErr.Message, "no such database"):
			return " — the server has no such database: create the database or fix its name in DSN"
		case pqErr.Code == "57P03":
			return " — the server is starting or stopping: retry in a moment or raise CONNECT_TIMEOUT"
		case strings.Contains(pqErr.Message, "unsupported startup parameter"):
			return " — the server, or a proxy in front of it such as PgBouncer, refused a connection parameter: remove it from DSN, or have the proxy ignore it (ignore_startup_parameters)"
		case strings.Contains(pqErr.Message, "cannot connect to server"):
			return " — a proxy in front of PostgreSQL answered, but cannot reach the server: is the server running, and does the proxy point at it?"
		}
		return " — the server answered with this error: it is reachable, and refused"
	}
	if errors.Is(err, context.Canceled) {
		return ""
	}
	if strings.Contains(err.Error(), "SSL is not enabled") {
		return " — add sslmode=disable to DSN, or enable TLS on the server"
	}
	return " — is the server running and is DSN right?"
}

// hbaHint is the hint for a login the server's pg_hba.conf has no entry
// for (or rejects), whose message names the host, user, database and
// encryption of the connection ("no pg_hba.conf entry for host
// "10.0.0.5", user "goquiz", database "feed", no encryption"): the user
// and password are not in question, but the server's pg_hba.conf and, as
// it may take a connection only with TLS or only without, sslmode.
func hbaHint(msg string) string {
	switch {
	case strings.HasSuffix(msg, "no encryption"):
		return " — the server's pg_hba.conf has no entry for this host, user and database without TLS: if the server takes them only over TLS, set sslmode=verify-full (or require) in DSN; otherwise add an entry to pg_hba.conf"
	case strings.HasSuffix(msg, "SSL encryption"):
		return " — the server's pg_hba.conf has no entry for this host, user and database over TLS: add an entry (hostssl) to pg_hba.conf, or, if the server takes them only without TLS, set sslmode=disable in DSN"
	}
	return " — the server's pg_hba.conf does not let this host, user and database in: fix pg_hba.conf, or sslmode in DSN if it takes them only with TLS or only without"
}

// certRefusal returns the hint for a server TLS certificate the client
// did not accept (sslmode=verify-full or verify-ca, or sslrootcert given
// with require): signed by a CA it does not know, for another host name,
// or expired; or "" when err is no such refusal. lib/pq returns crypto's
// errors as they are, under *tls.CertificateVerificationError when the
// handshake verified the certificate (verify-full), bare when lib/pq did
// (verify-ca). Waiting does not change the certificate: it is not retried.
func certRefusal(err error) string {
	const refused = " — the server's TLS certificate was not accepted"
	var (
		unknown  x509.UnknownAuthorityError
		noRoots  x509.SystemRootsError
		host     x509.HostnameError
		invalid  x509.CertificateInvalidError
		verified *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &noRoots):
		return refused + " (signed by a CA this client does not know): give the file of the CA that signed it in sslrootcert in DSN"
	case errors.As(err, &host):
		return refused + " (it is not for the host name DSN connects to): connect by a host name the certificate holds, or have the server's certificate name this host"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return refused + " (expired or not yet valid): renew the server's certificate, or check this machine's clock"
	case errors.As(err, &invalid), errors.As(err, &verified):
		return refused + ": check sslrootcert and the host name in DSN against the server's certificate"
	}
	return ""
}

// Ping checks that the database answers within the round-trip timeout,
// and before ctx is done: the connection is closed then, not only
// cancelled, so that Ping returns at once.
func (d *DB) Ping(ctx context.Context) error {
	err := d.onConn(ctx, func(c *sql.Conn, nc *timeoutConn) error {
		defer context.AfterFunc(ctx, func() { nc.Close() })()
		return c.PingContext(ctx)
	})
	if err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}
	return nil
}

// onConn runs f on a connection of the pool, with its socket.
func (d *DB) onConn(ctx context.Context, f func(c *sql.Conn, nc *timeoutConn) error) error {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var nc *timeoutConn
	if err := c.Raw(func(dc any) (err error) { nc, err = socket(dc); return err }); err != nil {
		return err
	}
	return f(c, nc)
}

// txBeginner starts transactions: a pool or one of its connections.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// begin starts a transaction on c whose limits the server keeps: it ends
// the session when the transaction stays idle for the timeout, and
// cancels a statement that runs longer (statements that may rightly run
// longer lift that with SET LOCAL statement_timeout = 0). So a client
// lost in the middle of a transaction (its process frozen, its network
// cut) holds its locks for about the timeout, not until TCP gives up on
// it. The limits are set with SET LOCAL, in the transaction's second
// round trip: they end with it, and never reach another client of a
// transaction-pooling proxy that gets the same server connection next.
func (d *DB) begin(ctx context.Context, c txBeginner, opts *sql.TxOptions) (*sql.Tx, error) {
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.txLimits); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin: set the transaction's limits: %w", err)
	}
	return tx, nil
}

// Timeout returns the round-trip timeout of the store's connections.
func (d *DB) Timeout() time.Duration { return d.timeout }

// SQL returns the underlying pool, for tests and tools.
func (d *DB) SQL() *sql.DB { return d.db }

// Close stops the store's background work and closes the pool.
func (d *DB) Close() error {
	d.stop()
	d.wg.Wait()
	return d.db.Close()
}

// withSSLPrefer makes a DSN that names no sslmode use TLS when the server
// offers it and plain connections otherwise, as libpq does, instead of
// requiring TLS, which a local server often does not offer.
func withSSLPrefer(dsn string) string {
	if os.Getenv("PGSSLMODE") != "" || strings.Contains(dsn, "sslmode") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("sslmode", "prefer")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " sslmode=prefer"
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// urlPassword is the password of a URL that does not parse: from the
// first ':' after the scheme's "//" and a user name to the last '@'.
var urlPassword = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:).*@`)

// CheckDSN returns why dsn cannot be used, if it cannot (a URL that does
// not parse, a setting of an unknown value), without its password: the
// check Open makes, for a program to make before it starts.
func CheckDSN(dsn string) error {
	_, err := connectorOf(dsn, "goquiz", dialer{})
	return err
}

// connectorOf returns the connector of dsn, its sessions named app, or
// why there is none: an error that starts with the DSN, its password
// masked, and leaves out the URL a *url.Error repeats, password included.
func connectorOf(dsn, app string, dial dialer) (*connector, error) {
	full, err := sessionDSN(dsn, app)
	var c *connector
	if err == nil {
		c, err = newConnector(full, dial)
	}
	if err == nil {
		return c, nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = errors.New(ue.Err.Error())
	}
	return nil, fmt.Errorf("%s: %w", Redact(dsn), err)
}

// Redact returns dsn with any password replaced by "***", for logs and
// error messages, whether or not it parses.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "***")
			u.RawQuery = q.Encode()
		}
		return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
	}
	if strings.Contains(dsn, "://") {
		dsn = urlPassword.ReplaceAllString(dsn, "${1}***@")
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}
