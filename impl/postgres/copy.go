package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"goquiz/common"
)

// copyGuarded copies rows into customers under a savepoint, so that a
// unique violation leaves the transaction (tx, open on conn) usable.
func copyGuarded(ctx context.Context, tx *sql.Tx, conn *sql.Conn, rows []common.Customer) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	// A COPY streams for as long as the chunk takes: it is not one round
	// trip, and its writes are bounded one by one.
	if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0; SAVEPOINT goquiz_copy`); err != nil {
		return 0, fmt.Errorf("savepoint: %w", err)
	}
	n, err := copyRows(ctx, conn, `COPY customers (id, first_name, last_name, email, phone) FROM STDIN`, rows)
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT goquiz_copy`); rbErr != nil {
			return 0, errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
		}
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT goquiz_copy`); err != nil {
		return 0, fmt.Errorf("release savepoint: %w", err)
	}
	return n, nil
}

// stageInsert copies rows into a temporary table and inserts those whose
// ids are still free, for chunks that race with another writer; tx is open
// on conn.
func stageInsert(ctx context.Context, tx *sql.Tx, conn *sql.Conn, rows []common.Customer) (int64, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE goquiz_stage
		(id bigint, first_name text, last_name text, email text, phone text) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("create staging table: %w", err)
	}
	if _, err := copyRows(ctx, conn, `COPY goquiz_stage (id, first_name, last_name, email, phone) FROM STDIN`, rows); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO customers (id, first_name, last_name, email, phone)
		SELECT id, first_name, last_name, email, phone FROM goquiz_stage ORDER BY id
		ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("insert from staging table: %w", err)
	}
	return res.RowsAffected()
}

// copyRows streams rows through the COPY statement query on conn, whose
// transaction is open, and returns how many rows it stored.
//
// It feeds the driver's COPY statement directly: through database/sql
// every row would be an Exec of its own, converting its arguments and
// leaving about 400 bytes of garbage, which was most of the parser's CPU
// and heap. lib/pq's COPY statement implements driver.Stmt's Exec only.
//
// A connection the driver found dead is reported as badConnError, not as
// driver.ErrBadConn: given that from Conn.Raw, database/sql closes the
// Conn, which waits for the transaction open on it to end, and that
// transaction is ended by this goroutine, once copyRows returns: it
// waited forever (a parser whose sessions were killed hung).
func copyRows(ctx context.Context, conn *sql.Conn, query string, rows []common.Customer) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) (err error) {
		n, err = copyRowsOn(ctx, dc, query, rows)
		if errors.Is(err, driver.ErrBadConn) {
			return &badConnError{err.Error()}
		}
		return err
	})
	return n, err
}

// badConnError is a connection the driver found dead, in copyRows: the
// chunk is stored again on a new one (see lost).
type badConnError struct{ msg string }

func (e *badConnError) Error() string { return e.msg }

// copyRowsOn is copyRows on the driver's connection dc.
func copyRowsOn(ctx context.Context, dc any, query string, rows []common.Customer) (int64, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return 0, fmt.Errorf("start copy: driver connection %T cannot prepare", dc)
	}
	stmt, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("start copy: %w", err)
	}
	defer stmt.Close()
	row := make([]driver.Value, 5)
	for i, c := range rows {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("copy rows: %w", err)
			}
		}
		row[0], row[1], row[2], row[3], row[4] = c.ID, c.FirstName, c.LastName, c.Email, c.Phone
		if _, err := stmt.Exec(row); err != nil {
			return 0, fmt.Errorf("copy rows: %w", err)
		}
	}
	res, err := stmt.Exec(nil) // ends the COPY
	if err != nil {
		return 0, fmt.Errorf("copy: %w", err)
	}
	return res.RowsAffected()
}
