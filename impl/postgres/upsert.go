package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// SyncWriter returns a new chunk writer on d in the given mode. A writer
// in SyncUpsert keeps the ids it read (see seenIDs), in a table in the
// database when they are too many for memory (see loadTable): Close drops
// it.
func (d *DB) SyncWriter(mode common.SyncMode) *Writer {
	return &Writer{db: d, mode: mode, seen: make(map[int64]struct{})}
}

// Close drops what the writer keeps in the database: the table of the ids
// a load in SyncUpsert read. A writer is not used after Close.
func (w *Writer) Close(ctx context.Context) error {
	if w.load == nil {
		return nil
	}
	err := w.db.dropLoad(ctx, w.load)
	w.load = nil
	return err
}

// startOf returns the id and start time of tx, for finding out whether it
// committed if its commit answer is lost.
func startOf(ctx context.Context, tx *sql.Tx) (*commit, error) {
	var c commit
	if err := tx.QueryRowContext(ctx, `SELECT txid_current(), (extract(epoch FROM now()) * 1000000)::bigint`).Scan(&c.xid, &c.startUS); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	return &c, nil
}

// upsert stores a chunk in SyncUpsert (rows unique, sorted by id) in tx,
// open on conn, and returns what it did:
//
//   - the ids the load read in an earlier chunk are duplicates (see
//     loadTable), whatever their values;
//   - the others are looked up: an id not stored is new, and is copied
//     into the table as a load in SyncInsert does; a stored one with the
//     same five values is unchanged, and nothing is written for it; one
//     with other values is changed (see changeSQL).
//
// Only new and changed rows are written: a daily export that changed a
// tenth of its customers costs a lookup of each id and the writes of a
// tenth. Between the lookup and the writes another loader may store the
// same ids: the copy then fails on the primary key and the new rows go
// through insertOrChange, and a change whose values were stored meanwhile
// is unchanged.
func (w *Writer) upsert(ctx context.Context, tx *sql.Tx, conn *sql.Conn, rows []common.Customer) (common.ChunkResult, error) {
	fresh, err := w.firstSeen(ctx, tx, rows)
	if err != nil {
		return common.ChunkResult{}, err
	}
	res := common.ChunkResult{Duplicates: int64(len(rows) - len(fresh))}
	w.last = res
	if len(fresh) == 0 {
		return res, nil
	}
	added, changed, unchanged, err := w.compare(ctx, tx, rows, fresh)
	if err != nil {
		return common.ChunkResult{}, err
	}
	res.Unchanged = unchanged
	n, err := copyGuarded(ctx, tx, conn, added)
	switch {
	case isUniqueViolation(err):
		// Another loader stored some of these ids since we looked.
		ins, chg, err := insertOrChange(ctx, tx, conn, added)
		if err != nil {
			return common.ChunkResult{}, err
		}
		res.Stored, res.Changed = ins, chg
		res.Unchanged += int64(len(added)) - ins - chg
	case err != nil:
		return common.ChunkResult{}, err
	default:
		res.Stored = n
	}
	chg, err := change(ctx, tx, changed)
	if err != nil {
		return common.ChunkResult{}, err
	}
	res.Changed += chg
	res.Unchanged += int64(len(changed)) - chg
	w.last = res
	return res, nil
}

// firstSeen returns the ids of rows (unique, sorted) that the load did not
// read before, sorted: from memory, or recorded in tx in the load's table
// once the ids went there. The ids in memory are added once the chunk is
// known to be stored (see read).
func (w *Writer) firstSeen(ctx context.Context, tx *sql.Tx, rows []common.Customer) ([]int64, error) {
	w.fresh = w.fresh[:0]
	if w.load != nil {
		fresh, err := w.load.firstSeen(ctx, tx, idsOf(rows))
		if err != nil {
			return nil, err
		}
		slices.Sort(fresh)
		w.fresh = append(w.fresh, fresh...)
		return w.fresh, nil
	}
	for _, c := range rows {
		if !w.ids.has(c.ID) {
			w.fresh = append(w.fresh, c.ID)
		}
	}
	return w.fresh, nil
}

// spillReady calls beforeSpill, if set, once.
func (w *Writer) spillReady(ctx context.Context) error {
	f := w.beforeSpill
	if f == nil {
		return nil
	}
	if err := f(ctx); err != nil {
		return err
	}
	w.beforeSpill = nil
	return nil
}

// read adds the ids of the chunk just stored to the ids read, and moves
// them to a table in the database when they take too much memory.
func (w *Writer) read(ctx context.Context) error {
	if w.ids == nil {
		return nil
	}
	for _, id := range w.fresh {
		w.ids.add(id)
	}
	w.fresh = w.fresh[:0]
	if w.ids.bytes <= seenMaxBytes || w.spillFailed {
		return nil
	}
	var l *loadTable
	err := w.spillReady(ctx)
	if err == nil {
		l, err = w.db.newLoad(ctx)
	}
	if err == nil {
		if err = l.addAll(ctx, w.db, w.ids); err != nil {
			err = errors.Join(err, w.db.dropLoad(ctx, l))
		}
	}
	if err != nil {
		// The chunk is stored: keep the ids in memory, past the limit.
		w.spillFailed = true
		w.db.log.Warn("could not move the ids read to the database; they stay in memory", "bytes", w.ids.bytes, "error", err)
		return nil
	}
	w.db.log.Info("the ids read so far take too much memory: kept in the database from now on", "bytes", w.ids.bytes)
	w.load, w.ids = l, nil
	return nil
}

// upsertSettings are the settings of a chunk's transaction in SyncUpsert:
// the changed rows are looked up one by one in the primary key, whatever
// their number (the planner would rather read the whole table for a chunk
// of many changes).
const upsertSettings = `; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`

// idsOf returns the ids of rows.
func idsOf(rows []common.Customer) []int64 {
	ids := make([]int64, len(rows))
	for i, c := range rows {
		ids[i] = c.ID
	}
	return ids
}

// appendRowsOf appends to dst the rows (sorted by id) whose ids are in
// ids (sorted).
func appendRowsOf(dst, rows []common.Customer, ids []int64) []common.Customer {
	for i, j := 0, 0; i < len(rows) && j < len(ids); {
		switch {
		case rows[i].ID < ids[j]:
			i++
		case rows[i].ID > ids[j]:
			j++
		default:
			dst = append(dst, rows[i])
			i++
			j++
		}
	}
	return dst
}

// compare splits the rows (unique, sorted by id) whose ids are in fresh
// (sorted) by what they are to the values stored for them, read through
// q: new, changed (both sorted by id) and how many are unchanged.
//
// The stored values are read in the order of the ids and compared with
// the rows as they come, as bytes. Kept as strings in a map first, they
// cost the bench's upsert of a daily export (1,010,000 rows, every id
// read back) 2.04-2.58 s of the parser's CPU; compared as they come,
// 1.89-2.03 s (three runs each, 2026-12-07).
func (w *Writer) compare(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, rows []common.Customer, fresh []int64) (added, changed []common.Customer, unchanged int64, err error) {
	// The rows to compare: those of rows whose ids are in fresh, each
	// with what it is to its stored values.
	w.cand = appendRowsOf(w.cand[:0], rows, fresh)
	w.status = slices.Grow(w.status[:0], len(w.cand))[:len(w.cand)]
	for k := range w.status {
		w.status[k] = notStored
	}
	if len(w.cand) == 0 {
		return nil, nil, 0, nil
	}
	// Dense ids (an export in the order of its ids) are read as a range
	// of the primary key, which costs a fraction of looking each up; the
	// other ids of the range are read for nothing.
	query, args := `SELECT id, first_name, last_name, email, phone FROM customers WHERE id = ANY($1) ORDER BY id`, []any{pq.Int64Array(fresh)}
	if lo, hi := fresh[0], fresh[len(fresh)-1]; hi-lo < 2*int64(len(fresh)) {
		query, args = `SELECT id, first_name, last_name, email, phone FROM customers WHERE id BETWEEN $1 AND $2 ORDER BY id`, []any{lo, hi}
	}
	res, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("look up stored values: %w", err)
	}
	defer res.Close()
	var (
		id                        int64
		first, last, email, phone sql.RawBytes
		k                         int
	)
	for res.Next() {
		if err := res.Scan(&id, &first, &last, &email, &phone); err != nil {
			return nil, nil, 0, fmt.Errorf("look up stored values: %w", err)
		}
		for k < len(w.cand) && w.cand[k].ID < id {
			k++
		}
		if k == len(w.cand) {
			break
		}
		if c := w.cand[k]; c.ID == id {
			w.status[k] = otherValues
			if string(first) == c.FirstName && string(last) == c.LastName && string(email) == c.Email && string(phone) == c.Phone {
				w.status[k] = sameValues
			}
		}
	}
	if err := res.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("look up stored values: %w", err)
	}
	for k, c := range w.cand {
		switch w.status[k] {
		case notStored:
			added = append(added, c)
		case sameValues:
			unchanged++
		case otherValues:
			changed = append(changed, c)
		}
	}
	return added, changed, unchanged, nil
}

// stored is what a row read is to the values stored for its id (see
// compare).
type stored uint8

const (
	notStored   stored = iota // no customer of that id
	sameValues                // the same five values: unchanged
	otherValues               // other values: changed
)

// changeSQL stores new values of stored customers as their next version:
// pending again, due at once, with no attempts and no last error, stored
// now (created_at is when the version was stored). A record an
// integrator holds stays in its claim: the version in flight is finished
// first, and its outcome, which names its version, does not count for
// this one. Rows are updated in the order of their ids, as every writer
// does. A row whose values are the same already (another loader stored
// them meanwhile) is left alone.
const changeSQL = `
	UPDATE customers AS c
	SET first_name = u.first_name, last_name = u.last_name, email = u.email, phone = u.phone,
	    version = c.version + 1, state = 'pending', attempts = 0, next_attempt_at = now(),
	    last_error = NULL, created_at = now(), updated_at = now(), sent_at = NULL
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, first_name, last_name, email, phone)
	WHERE c.id = u.id
	  AND (c.first_name, c.last_name, c.email, c.phone) IS DISTINCT FROM (u.first_name, u.last_name, u.email, u.phone)`

// change stores the values of rows (stored, sorted by id) as new versions
// in tx and returns how many it changed.
func change(ctx context.Context, tx *sql.Tx, rows []common.Customer) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make(pq.Int64Array, len(rows))
	firsts, lasts, emails, phones := make(pq.StringArray, len(rows)), make(pq.StringArray, len(rows)),
		make(pq.StringArray, len(rows)), make(pq.StringArray, len(rows))
	for i, c := range rows {
		ids[i], firsts[i], lasts[i], emails[i], phones[i] = c.ID, c.FirstName, c.LastName, c.Email, c.Phone
	}
	res, err := tx.ExecContext(ctx, changeSQL, ids, firsts, lasts, emails, phones)
	if err != nil {
		return 0, fmt.Errorf("store %d changed customers: %w", len(rows), err)
	}
	return res.RowsAffected()
}

// insertOrChange stores rows (sorted by id) that were not stored when
// looked up, some of which another loader stored since: through a
// temporary table, as new customers, or as new versions of those stored
// meanwhile with other values. It returns how many it inserted and how
// many it changed; tx is open on conn.
func insertOrChange(ctx context.Context, tx *sql.Tx, conn *sql.Conn, rows []common.Customer) (inserted, changed int64, err error) {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE goquiz_stage
		(id bigint, first_name text, last_name text, email text, phone text) ON COMMIT DROP`); err != nil {
		return 0, 0, fmt.Errorf("create staging table: %w", err)
	}
	if _, err := copyRows(ctx, conn, `COPY goquiz_stage (id, first_name, last_name, email, phone) FROM STDIN`, rows); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, `
		WITH up AS (
			INSERT INTO customers AS c (id, first_name, last_name, email, phone)
			SELECT id, first_name, last_name, email, phone FROM goquiz_stage ORDER BY id
			ON CONFLICT (id) DO UPDATE
			SET first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email,
			    phone = excluded.phone, version = c.version + 1, state = 'pending', attempts = 0,
			    next_attempt_at = now(), last_error = NULL, created_at = now(), updated_at = now(), sent_at = NULL
			WHERE (c.first_name, c.last_name, c.email, c.phone)
			      IS DISTINCT FROM (excluded.first_name, excluded.last_name, excluded.email, excluded.phone)
			RETURNING c.version
		)
		SELECT count(*) FILTER (WHERE version = 1), count(*) FILTER (WHERE version > 1) FROM up`).Scan(&inserted, &changed)
	if err != nil {
		return 0, 0, fmt.Errorf("insert or change from staging table: %w", err)
	}
	return inserted, changed, nil
}

// committedUpsert tells whether the transaction of c, a chunk in
// SyncUpsert whose commit answer was lost, committed, and then what it did
// with rows: the ids it read first are in the load's table with the
// transaction's start time, and the customers it stored, new (version 1)
// or changed, carry that time as their created_at. When it read no id
// first, storing it again does the same: it is taken as not committed.
func (w *Writer) committedUpsert(ctx context.Context, c *commit, rows []common.Customer, giveUp time.Time) (common.ChunkResult, bool, error) {
	if err := w.ended(ctx, c, giveUp); err != nil {
		return common.ChunkResult{}, false, err
	}
	if w.load == nil {
		// The ids read are in memory: the chunk committed if it stored
		// what it stored, with its transaction's time. A chunk that
		// stored nothing wrote nothing: it is as good as committed.
		var n int64
		if err := w.db.db.QueryRowContext(ctx, `SELECT count(*) FROM customers WHERE id = ANY($1)
			AND (extract(epoch FROM created_at) * 1000000)::bigint = $2`, pq.Int64Array(w.fresh), c.startUS).Scan(&n); err != nil {
			return common.ChunkResult{}, false, fmt.Errorf("look for a lost commit: %w", err)
		}
		return w.last, n > 0 || w.last.Stored+w.last.Changed == 0, nil
	}
	fresh, err := w.load.committedSeen(ctx, w.db.db, c, idsOf(rows))
	if err != nil || len(fresh) == 0 {
		return common.ChunkResult{}, false, err
	}
	slices.Sort(fresh)
	w.fresh = append(w.fresh[:0], fresh...)
	var res common.ChunkResult
	if err := w.db.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE version = 1), count(*) FILTER (WHERE version > 1)
		FROM customers WHERE id = ANY($1) AND (extract(epoch FROM created_at) * 1000000)::bigint = $2`,
		pq.Int64Array(fresh), c.startUS).Scan(&res.Stored, &res.Changed); err != nil {
		return common.ChunkResult{}, false, fmt.Errorf("look for a lost commit: %w", err)
	}
	res.Unchanged = int64(len(fresh)) - res.Stored - res.Changed
	res.Duplicates = int64(len(rows) - len(fresh))
	return res, true, nil
}
