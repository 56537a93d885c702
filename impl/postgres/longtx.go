package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// longRunningTx runs fn in a transaction whose statements may rightly take longer
// than the round-trip timeout: schema creation waiting for another
// process's lock, ANALYZE, a recount. They are exempt from
// statement_timeout (SET LOCAL), and the wait for their answers outlasts
// the timeout, but they are not left to hang: a watchdog checks, every
// quarter timeout and from another connection, that the server is still
// working on them (their session is active and not waiting for the
// client), and each time it is, lets the answer come up to a timeout and
// a quarter later (see timeoutConn.Extend). When it is not (the statement
// finished and its answer was lost, the session is gone) or cannot tell
// (the check gets no answer), the answer must come within about the
// timeout, as for any round trip. When ctx is done, the connection is
// closed at once. What fn does on tx runs on one connection; opts are the
// transaction's. Through a transaction-pooling proxy this holds as well:
// a transaction keeps its server connection, whose backend is the one
// watched.
func (d *DB) longRunningTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	return d.onConn(ctx, func(c *sql.Conn, nc *timeoutConn) error {
		tx, err := d.begin(ctx, c, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var pid int
		if err := tx.QueryRowContext(ctx, `SET LOCAL statement_timeout = 0; SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return fmt.Errorf("lift statement_timeout: %w", err)
		}
		defer d.watch(pid, nc)()
		defer context.AfterFunc(ctx, func() { nc.Close() })()
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// watch extends the answer deadline of nc whenever the server shows
// session pid at work, every quarter timeout, until the returned function
// is called. The next check starts within a quarter timeout, so an
// extension by a timeout and a quarter leaves it a timeout to answer (three
// quarters for the first check after a request, whose write set the
// deadline back to one timeout): a statement the server is working on is
// not cut while the checks answer.
func (d *DB) watch(pid int, nc *timeoutConn) (stop func()) {
	every := d.timeout / 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if d.working(pid) {
				nc.Extend(d.timeout + every)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// working tells whether the server is running a statement of session pid
// that does not wait for its client.
func (d *DB) working(pid int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	var busy bool
	err := d.db.QueryRowContext(ctx, `
		SELECT state = 'active' AND coalesce(wait_event, '') NOT IN ('ClientRead', 'ClientWrite')
		FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&busy)
	return err == nil && busy
}
