package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"goquiz/common"
)

// DryRun counts what loading chunks in a sync mode would do, against the
// stored customers, and stores and announces nothing: it implements
// common.ChunkWriter for `parser --dry-run`. It keeps the ids it read, as
// a load does, so that an id read in an earlier chunk is a duplicate; when
// they are too many for memory, in a table of its own in the database (see
// loadTable), which Close drops. In SyncInsert a stored
// id, changed or not, is a duplicate, as a load would count it.
//
// On a database without goquiz's schema (opened with NoMigrate) nothing
// is stored, so every id read for the first time is new; the schema is
// created only if the ids read outgrow memory, for their table.
type DryRun struct {
	w     *Writer
	empty bool // no customers table: nothing stored
}

// DryRun returns a dry run of loads in mode on d.
func (d *DB) DryRun(ctx context.Context, mode common.SyncMode) (*DryRun, error) {
	var exists bool
	if err := d.db.QueryRowContext(ctx, `SELECT to_regclass('customers') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("dry run: look for the customers table: %w", err)
	}
	r := &DryRun{w: d.SyncWriter(mode), empty: !exists}
	if r.empty {
		r.w.beforeSpill = d.Migrate // the ids' table needs the schema
	}
	return r, nil
}

// Close drops the table of the ids the dry run read.
func (r *DryRun) Close(ctx context.Context) error { return r.w.Close(ctx) }

// WriteChunk counts what storing chunk would do: new, changed, unchanged
// and duplicate rows. A lost connection is handled as a load does: the
// ids are recorded again on a new connection, or found recorded if the
// commit's answer was lost.
func (r *DryRun) WriteChunk(ctx context.Context, chunk []common.Customer) (common.ChunkResult, error) {
	w := r.w
	rows := w.unique(chunk)
	res := common.ChunkResult{Duplicates: int64(len(chunk) - len(rows))}
	if len(rows) == 0 {
		return res, nil
	}
	if w.ids == nil && w.load == nil {
		w.ids = newSeenIDs()
	}
	var fresh []int64
	if w.load == nil {
		fresh, _ = w.firstSeen(ctx, nil, rows)
	} else {
		var err error
		if fresh, err = r.record(ctx, idsOf(rows)); err != nil {
			return common.ChunkResult{}, fmt.Errorf("dry run: %w", err)
		}
	}
	res.Duplicates += int64(len(rows) - len(fresh))
	var (
		added, changed []common.Customer
		unchanged      int64
		err            error
	)
	if r.empty {
		added = appendRowsOf(nil, rows, fresh)
	} else if added, changed, unchanged, err = w.compare(ctx, w.db.db, rows, fresh); err != nil {
		return common.ChunkResult{}, fmt.Errorf("dry run: %w", err)
	}
	if err := w.read(ctx); err != nil {
		return common.ChunkResult{}, fmt.Errorf("dry run: %w", err)
	}
	res.Stored = int64(len(added))
	if w.mode == common.SyncUpsert {
		res.Changed, res.Unchanged = int64(len(changed)), unchanged
	} else {
		res.Duplicates += int64(len(changed)) + unchanged
	}
	return res, nil
}

// record records ids as read, in a transaction of their own, and returns
// those read for the first time, retrying on a new connection for up to
// the store's ConnectTimeout when the connection is lost.
func (r *DryRun) record(ctx context.Context, ids []int64) ([]int64, error) {
	w := r.w
	var giveUp time.Time
	for attempt := 1; ; attempt++ {
		fresh, lostCommit, err := r.recordOnce(ctx, ids)
		if lostCommit != nil {
			if err = w.ended(ctx, lostCommit, giveUp); err == nil {
				fresh, err = w.load.committedSeen(ctx, w.db.db, lostCommit, ids)
				if err == nil && len(fresh) == 0 {
					continue // not committed (or nothing new): record again
				}
			}
		}
		if err == nil {
			slices.Sort(fresh)
			return fresh, nil
		}
		if ctx.Err() != nil || !lost(err) {
			return nil, err
		}
		if giveUp.IsZero() {
			giveUp = time.Now().Add(w.db.wait)
		}
		delay := common.StorePause(attempt)
		if time.Now().Add(delay).After(giveUp) {
			return nil, fmt.Errorf("connection lost, tried again for %s (CONNECT_TIMEOUT) without success: %w", w.db.wait, err)
		}
		w.db.log.Warn("connection lost during a dry run; trying again on a new connection", "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// recordOnce records ids in one transaction; on error, the commit whose
// answer was lost, if the error hit the commit.
func (r *DryRun) recordOnce(ctx context.Context, ids []int64) ([]int64, *commit, error) {
	tx, err := r.w.db.begin(ctx, r.w.db.db, nil)
	if err != nil {
		return nil, nil, &connectError{err}
	}
	defer tx.Rollback()
	c, err := startOf(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	fresh, err := r.w.load.firstSeen(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, c, fmt.Errorf("commit: %w", err)
	}
	return fresh, nil, nil
}
