package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// long runs fn in a transaction whose statements may rightly take longer
// than the round-trip timeout: schema creation waiting for another
// process's lock, ANALYZE, the status counts. They are exempt from the
// bound on their answers, and from statement_timeout (SET LOCAL), but not
// left to hang: a watchdog checks, every half timeout and from another
// connection, that the server is still working on them (their session is
// active and not waiting for the client). When it is not (the statement
// finished and its answer was lost, the session is gone) or cannot tell
// (the server does not answer the check within the timeout), the answer
// must come within the timeout, as for any round trip. When ctx is done,
// the connection is closed at once. What fn does on tx runs on one
// connection; opts are the transaction's.
func (d *DB) long(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	return d.onConn(ctx, func(c *sql.Conn, nc *timeoutConn) error {
		tx, err := c.BeginTx(ctx, opts)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		var pid int
		if err := tx.QueryRowContext(ctx, `SET LOCAL statement_timeout = 0; SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return fmt.Errorf("lift statement_timeout: %w", err)
		}
		nc.SetExempt(true)
		defer nc.SetExempt(false)
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

// watch arms the answer deadline of nc, exempt, whenever the server does
// not show session pid at work, every half timeout, until the returned
// function is called.
func (d *DB) watch(pid int, nc *timeoutConn) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d.timeout / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			seq := nc.Seq()
			nc.Arm(seq) // until the server shows it is at work
			if d.working(pid) {
				nc.Disarm(seq)
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
