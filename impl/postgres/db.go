// Package postgres is goquiz's PostgreSQL store: the schema, bulk loading of
// customer chunks with their notification, claiming and settling deliveries
// under leases, and listening for notifications. It implements
// common.ChunkWriter and common.Queue.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

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
		seen := newReapState()
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
