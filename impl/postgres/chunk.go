package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// Writer stores chunks of customers; it implements common.ChunkWriter. A
// Writer keeps scratch state between chunks and is not safe for concurrent
// use: each loader has its own. Several Writers, in one process or many, may
// load into the same database at once.
type Writer struct {
	db   *DB
	mode common.SyncMode
	// ids are the ids read so far, in SyncUpsert, while they fit in
	// memory; load is their table in the database once they did not.
	ids  *seenIDs
	load *loadTable
	// fresh are the ids of the chunk being stored not read before, and
	// last what storing it did, until it is known to be committed.
	fresh []int64
	last  common.ChunkResult
	// spillFailed is set when the ids could not be moved to the database:
	// they stay in memory. beforeSpill, if set, runs before they are
	// moved (a dry run creates the schema then).
	spillFailed bool
	beforeSpill func(context.Context) error
	seen        map[int64]struct{}
	rows        []common.Customer
	// cand and status are the rows of a chunk compared with the stored
	// values, in SyncUpsert, and what they are (see compare).
	cand   []common.Customer
	status []stored
	// filter is set after a chunk met ids already stored: the next chunk
	// looks its ids up first instead of hoping for a clean COPY.
	filter bool
	// analyzed is set once the writer made sure the table has statistics.
	analyzed bool
}

// analyzeIfNew gathers statistics on a table that has none (never
// analyzed, or analyzed nearly empty), right after the first chunk
// commits. Without them the planner takes the table for a few rows and
// the integrators' claims and settles scan every pending row; autovacuum
// would only come a minute later, when a big load is half delivered.
func (w *Writer) analyzeIfNew(ctx context.Context) error {
	var tuples float64
	if err := w.db.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass`).Scan(&tuples); err != nil {
		return fmt.Errorf("read table statistics: %w", err)
	}
	if tuples >= 1000 {
		return nil
	}
	// ANALYZE of a large table may take longer than a round trip.
	err := w.db.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `ANALYZE customers`)
		return err
	})
	if err != nil {
		return fmt.Errorf("analyze customers: %w", err)
	}
	return nil
}

// Writer returns a new chunk writer on d in SyncInsert mode.
func (d *DB) Writer() *Writer {
	return d.SyncWriter(common.SyncInsert)
}

// WriteChunk stores the customers of chunk whose ids are not stored yet, the
// first occurrence of an id in the chunk winning, and notifies Channel, all
// in one transaction. On error nothing of the chunk is stored. In
// SyncUpsert it also stores the new values of stored customers as their
// next version (see upsert), and an id read in an earlier chunk is a
// duplicate.
//
// The common case, a chunk of new ids, is copied straight into the table.
// When ids are already there the copy fails on the primary key, and the
// chunk is copied again without the ids found stored. Ids are inserted in
// ascending order, so concurrent writers of overlapping chunks lock rows in
// the same order and cannot deadlock.
//
// A chunk whose connection is lost (see lost) is stored again on a new
// connection, for up to the store's ConnectTimeout after the first loss: its
// transaction never committed, so nothing is stored twice. When the loss
// hit the commit itself, the chunk's rows tell whether it committed (see
// committed): then it is stored, not stored again. When that cannot be
// learnt before giving up, the error is a *common.MaybeCommittedError.
// Each retry is logged.
func (w *Writer) WriteChunk(ctx context.Context, chunk []common.Customer) (common.ChunkResult, error) {
	rows := w.unique(chunk)
	dups := int64(len(chunk) - len(rows))
	if len(rows) == 0 {
		return common.ChunkResult{Duplicates: dups}, nil
	}
	if w.mode == common.SyncUpsert && w.ids == nil && w.load == nil {
		w.ids = newSeenIDs()
	}
	var (
		giveUp  time.Time
		pending *commit // a commit whose answer was lost
		ifDone  common.ChunkResult
		res     common.ChunkResult
		err     error
	)
	// failed is the chunk's failure for err, which says that the chunk may
	// be stored when the commit whose answer was lost is still unchecked.
	failed := func(err error) (common.ChunkResult, error) {
		if pending != nil {
			err = &common.MaybeCommittedError{Result: ifDone, Err: err}
		}
		return common.ChunkResult{}, err
	}
	for attempt := 1; ; attempt++ {
		if pending != nil {
			var done bool
			res, done, err = w.committedChunk(ctx, pending, rows, giveUp)
			if err == nil && !done {
				pending = nil
			}
		}
		if pending == nil && err == nil {
			res, pending, err = w.store(ctx, rows)
			ifDone = res
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil || !lost(err) {
			return failed(fmt.Errorf("write chunk: %w", err))
		}
		if giveUp.IsZero() {
			giveUp = time.Now().Add(w.db.wait)
		}
		delay := common.StorePause(attempt)
		if time.Now().Add(delay).After(giveUp) {
			return failed(fmt.Errorf("write chunk: connection lost, stored again for %s (CONNECT_TIMEOUT) without success: %w", w.db.wait, err))
		}
		w.db.log.Warn("connection lost while storing a chunk; storing it again on a new connection", "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return failed(fmt.Errorf("write chunk: %w", ctx.Err()))
		case <-time.After(delay):
		}
		err = nil
	}
	if err := w.read(ctx); err != nil {
		return common.ChunkResult{}, fmt.Errorf("write chunk: %w", err)
	}
	if !w.analyzed && res.Stored > 0 {
		// Statistics only speed the integrators up: the chunk is committed
		// whether or not they can be gathered.
		w.analyzed = true
		_ = w.analyzeIfNew(ctx)
	}
	res.Duplicates += dups
	return res, nil
}

// store stores rows in one transaction on one connection and returns what
// it did; on error, the commit whose answer was lost, if the error hit the
// commit, with what the chunk did if it committed. The transaction counts the records it inserts itself (see
// countkept.go).
func (w *Writer) store(ctx context.Context, rows []common.Customer) (common.ChunkResult, *commit, error) {
	// The COPY goes to the driver on the transaction's connection.
	conn, err := w.db.db.Conn(ctx)
	if err != nil {
		return common.ChunkResult{}, nil, &connectError{err}
	}
	defer conn.Close()
	tx, err := w.db.begin(ctx, conn, nil)
	if err != nil {
		return common.ChunkResult{}, nil, err
	}
	defer tx.Rollback()
	settings := ""
	if w.mode == common.SyncUpsert {
		settings = upsertSettings
	}
	if err := countInserts(ctx, tx, settings); err != nil {
		return common.ChunkResult{}, nil, err
	}
	var (
		res common.ChunkResult
		c   *commit
	)
	if w.mode == common.SyncUpsert {
		c, err = startOf(ctx, tx)
		if err == nil {
			res, err = w.upsert(ctx, tx, conn, rows)
		}
	} else {
		res.Stored, err = w.insert(ctx, tx, conn, rows)
		res.Duplicates = int64(len(rows)) - res.Stored
	}
	if err != nil {
		return common.ChunkResult{}, nil, err
	}
	if err := addInserted(ctx, tx, res.Stored); err != nil {
		return common.ChunkResult{}, nil, err
	}
	if changed := res.Stored + res.Changed; changed > 0 {
		var n commit
		if err := tx.QueryRowContext(ctx, `SELECT txid_current(), (extract(epoch FROM now()) * 1000000)::bigint
			FROM pg_notify($1, $2)`, Channel, strconv.FormatInt(changed, 10)).Scan(&n.xid, &n.startUS); err != nil {
			return common.ChunkResult{}, nil, fmt.Errorf("notify: %w", err)
		}
		c = &n
	}
	if err := tx.Commit(); err != nil {
		return res, c, fmt.Errorf("commit: %w", err)
	}
	return res, nil, nil
}

// unique returns the chunk without repeated ids, first occurrence kept,
// sorted by id.
func (w *Writer) unique(chunk []common.Customer) []common.Customer {
	clear(w.seen)
	w.rows = w.rows[:0]
	for _, c := range chunk {
		if _, dup := w.seen[c.ID]; dup {
			continue
		}
		w.seen[c.ID] = struct{}{}
		w.rows = append(w.rows, c)
	}
	slices.SortFunc(w.rows, func(a, b common.Customer) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return w.rows
}

// insert stores rows (unique, sorted) in tx, open on conn, and returns how
// many were new.
func (w *Writer) insert(ctx context.Context, tx *sql.Tx, conn *sql.Conn, rows []common.Customer) (int64, error) {
	if !w.filter {
		n, err := copyGuarded(ctx, tx, conn, rows)
		if !isUniqueViolation(err) {
			return n, err
		}
		w.filter = true
	}
	fresh, err := w.withoutStored(ctx, tx, rows)
	if err != nil {
		return 0, err
	}
	if len(fresh) == len(rows) {
		w.filter = false // the conflicts are behind us (e.g. a rerun caught up)
	}
	n, err := copyGuarded(ctx, tx, conn, fresh)
	if !isUniqueViolation(err) {
		return n, err
	}
	// Another writer stored some of these ids since we looked.
	return stageInsert(ctx, tx, conn, fresh)
}

// withoutStored returns the rows whose ids are not in the table yet.
func (w *Writer) withoutStored(ctx context.Context, tx *sql.Tx, rows []common.Customer) ([]common.Customer, error) {
	ids := make(pq.Int64Array, len(rows))
	for i, c := range rows {
		ids[i] = c.ID
	}
	res, err := tx.QueryContext(ctx, `SELECT id FROM customers WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("look up stored ids: %w", err)
	}
	defer res.Close()
	clear(w.seen)
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			return nil, fmt.Errorf("look up stored ids: %w", err)
		}
		w.seen[id] = struct{}{}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("look up stored ids: %w", err)
	}
	fresh := rows[:0:0]
	for _, c := range rows {
		if _, ok := w.seen[c.ID]; !ok {
			fresh = append(fresh, c)
		}
	}
	return fresh, nil
}

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}
