package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// commit identifies a chunk's transaction whose COMMIT was sent and whose
// answer was lost: its id and its start time, which its rows carry as
// their created_at.
type commit struct {
	xid     int64
	startUS int64 // now() of the transaction, in microseconds since 1970
}

// committed tells whether the transaction of c, whose commit answer was
// lost, committed, and then how many of rows it stored. It first waits,
// until giveUp, for the transaction to end: the server ends a lost
// session's idle transaction within the timeout. Its rows are those of
// the chunk's ids created at the transaction's start: after a failover
// the new primary may have given the same transaction id to another
// transaction, but not to one that stored these ids at that instant.
func (w *Writer) committed(ctx context.Context, c *commit, rows []common.Customer, giveUp time.Time) (int64, bool, error) {
	if err := w.ended(ctx, c, giveUp); err != nil {
		return 0, false, err
	}
	ids := make(pq.Int64Array, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var n int64
	if err := w.db.db.QueryRowContext(ctx, `SELECT count(*) FROM customers
		WHERE id = ANY($1) AND (extract(epoch FROM created_at) * 1000000)::bigint = $2`, ids, c.startUS).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("look for a lost commit: %w", err)
	}
	return n, n > 0, nil
}

// committedChunk tells whether the transaction of c, whose commit answer
// was lost, committed, and then what it did with rows.
func (w *Writer) committedChunk(ctx context.Context, c *commit, rows []common.Customer, giveUp time.Time) (common.ChunkResult, bool, error) {
	if w.mode == common.SyncUpsert {
		return w.committedUpsert(ctx, c, rows, giveUp)
	}
	n, done, err := w.committed(ctx, c, rows, giveUp)
	return common.ChunkResult{Stored: n, Duplicates: int64(len(rows)) - n}, done, err
}

// ended waits, until giveUp, for the transaction of c to end: the server
// ends a lost session's idle transaction within the timeout.
func (w *Writer) ended(ctx context.Context, c *commit, giveUp time.Time) error {
	for {
		var status sql.NullString
		err := w.db.db.QueryRowContext(ctx, `SELECT txid_status($1)`, c.xid).Scan(&status)
		if isFutureXid(err) {
			break // never reached this server (a failover lost it)
		}
		if err != nil {
			return fmt.Errorf("look for a lost commit: %w", err)
		}
		if status.String != "in progress" || time.Now().After(giveUp) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// isFutureXid tells whether err says a transaction id is in the future.
func isFutureXid(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "22023" && strings.Contains(pqErr.Message, "in the future")
}

// connectError is a failure to get a connection to store a chunk on.
type connectError struct{ err error }

func (e *connectError) Error() string { return "connect: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// lost tells whether err means the connection or the server went away,
// so that storing the chunk again on a new connection may succeed: no
// connection could be had (the server is down, restarting, or failing
// over), the connection broke or stopped answering (see netconn.go), or
// the server ended the session or cancelled its statement (a restart,
// the reaper, a timeout), or aborted it for a conflict with another.
func lost(err error) bool {
	var ce *connectError
	if errors.As(err, &ce) {
		return retryable(ce.err)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", "57", "40":
			return true
		}
		return pqErr.Code == "25006" // read-only: connected to a standby
	}
	var ne net.Error
	var bad *badConnError
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &bad) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
