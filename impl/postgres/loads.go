package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"

	"goquiz/common"
)

// syncSchema is the part of the schema that daily exports need (see
// docs/daily-exports.md): each customer's version, and the loads that
// compare rows with the stored ones, each with a table of the ids it
// has read.
var syncSchema = []schemaObject{
	{"customers.version", column, `ALTER TABLE customers ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1`},
	{"loads", relation, `CREATE TABLE IF NOT EXISTS loads (
		id         bigserial PRIMARY KEY,
		started_at timestamptz NOT NULL DEFAULT now(),
		touched_at timestamptz NOT NULL DEFAULT now()
	)`},
}

// staleLoad is how long after its last chunk the table of a load is taken
// as left behind by a crashed parser, and dropped by the next load.
const staleLoad = 24 * time.Hour

// loadTable is the table of the ids a load read (in SYNC_MODE=upsert, or
// a dry run): its first chunk creates it, and it goes with the load. An
// id the load read in an earlier chunk is a duplicate, however the chunk
// it is in compares with the stored customer: the first row of an id in
// a file counts, whatever its chunking. It is written in the chunk's own
// transaction: a chunk rolled back leaves none of its ids, one committed
// leaves all. No session state is involved: any connection (through a
// transaction-pooling proxy too) sees it. It is UNLOGGED: recording a
// million ids costs 1.1 s instead of 1.9 (measured on the CI machine),
// and a table that writes no WAL is emptied by a crash of the server and
// is empty on a promoted standby. A load that goes on after either then
// takes the ids it read before as not read: a later row of such an id in
// the same file is compared with the stored values instead of being a
// duplicate. Only a file that repeats an id in two chunks, loaded across
// a crash of the server, is affected; the values stored are then those of
// its last row.
type loadTable struct {
	id   int64
	name string // quoted
}

// loadTableDDL creates a load's table: the ids read, with the time the
// transaction of their chunk started, which tells the ids of a chunk whose
// commit answer was lost.
const loadTableDDL = `CREATE UNLOGGED TABLE %s (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`

// newLoad registers a load, creates its table and drops the tables of
// loads untouched for staleLoad (parsers that crashed), in one
// transaction, tried again on a new connection for up to the store's ConnectTimeout
// when the connection is lost (a commit whose answer was lost leaves a
// table that nobody uses, dropped a day later).
func (d *DB) newLoad(ctx context.Context) (*loadTable, error) {
	var l *loadTable
	var giveUp time.Time
	for attempt := 1; ; attempt++ {
		var err error
		l, err = d.newLoadOnce(ctx)
		if err == nil || ctx.Err() != nil || !lost(err) {
			return l, err
		}
		if giveUp.IsZero() {
			giveUp = time.Now().Add(d.wait)
		}
		delay := common.StorePause(attempt)
		if time.Now().Add(delay).After(giveUp) {
			return nil, err
		}
		d.log.Warn("connection lost while starting a load; starting it again on a new connection", "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// newLoadOnce is one try of newLoad.
func (d *DB) newLoadOnce(ctx context.Context) (*loadTable, error) {
	var l *loadTable
	err := d.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM loads WHERE touched_at < now() - $1 * interval '1 second' RETURNING id`,
			int64(staleLoad.Seconds()))
		if err != nil {
			return fmt.Errorf("find stale loads: %w", err)
		}
		var stale []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("find stale loads: %w", err)
			}
			stale = append(stale, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find stale loads: %w", err)
		}
		for _, id := range stale {
			if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+loadTableName(id)); err != nil {
				return fmt.Errorf("drop the table of stale load %d: %w", id, err)
			}
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO loads DEFAULT VALUES RETURNING id`).Scan(&id); err != nil {
			return fmt.Errorf("register load: %w", err)
		}
		name := loadTableName(id)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(loadTableDDL, name)); err != nil {
			return fmt.Errorf("create load table: %w", err)
		}
		l = &loadTable{id: id, name: name}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("start load: %w", err)
	}
	return l, nil
}

// loadTableName returns the quoted name of the table of load id.
func loadTableName(id int64) string {
	return pq.QuoteIdentifier("goquiz_load_" + strconv.FormatInt(id, 10))
}

// addAll records every id of s in the table of load l, in one
// transaction.
func (l *loadTable) addAll(ctx context.Context, d *DB, s *seenIDs) error {
	const batch = 100000
	ids := make(pq.Int64Array, 0, batch)
	return d.longRunningTx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		flush := func() {
			if err == nil && len(ids) > 0 {
				_, err = tx.ExecContext(ctx, `INSERT INTO `+l.name+` (id) SELECT unnest($1::bigint[])`, ids)
				ids = ids[:0]
			}
		}
		s.all(func(id int64) {
			if ids = append(ids, id); len(ids) == batch {
				flush()
			}
		})
		flush()
		if err != nil {
			return fmt.Errorf("record the ids read: %w", err)
		}
		return nil
	})
}

// dropLoad drops the table of load l and its registration.
func (d *DB) dropLoad(ctx context.Context, l *loadTable) error {
	_, err := d.db.ExecContext(ctx, `DROP TABLE IF EXISTS `+l.name+`; DELETE FROM loads WHERE id = `+strconv.FormatInt(l.id, 10))
	if err != nil {
		return fmt.Errorf("drop load table: %w", err)
	}
	return nil
}

// firstSeen records the ids (unique) of a chunk in tx as read by load l,
// and returns those it had not read before, in the order given. It marks
// the load as alive.
func (l *loadTable) firstSeen(ctx context.Context, tx *sql.Tx, ids []int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `WITH t AS (UPDATE loads SET touched_at = now() WHERE id = $2)
		INSERT INTO `+l.name+` (id) SELECT unnest($1::bigint[]) ON CONFLICT (id) DO NOTHING RETURNING id`,
		pq.Int64Array(ids), l.id)
	if err != nil {
		return nil, fmt.Errorf("record the ids read: %w", err)
	}
	return scanIDs(rows, len(ids), "record the ids read")
}

// committedSeen returns the ids among ids that load l recorded in the
// transaction c, whose commit answer was lost: those the chunk read
// first, if it committed.
func (l *loadTable) committedSeen(ctx context.Context, db *sql.DB, c *commit, ids []int64) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM `+l.name+`
		WHERE id = ANY($1) AND (extract(epoch FROM at) * 1000000)::bigint = $2`, pq.Int64Array(ids), c.startUS)
	if err != nil {
		return nil, fmt.Errorf("look for a lost commit: %w", err)
	}
	return scanIDs(rows, len(ids), "look for a lost commit")
}

// scanIDs reads a column of ids; what names the query in errors.
func scanIDs(rows *sql.Rows, capacity int, what string) ([]int64, error) {
	defer rows.Close()
	out := make([]int64, 0, capacity)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
