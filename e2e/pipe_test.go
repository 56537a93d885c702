package e2e_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/internal/testbin"
)

// piped is a process reading its standard input from a pipe the test
// feeds.
type piped struct {
	p *testbin.Process
	w *os.File
}

// pipeInput starts bin with "-" as its argument, reading from a pipe.
func pipeInput(t *testing.T, bin string, env []string) *piped {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	p := testbin.StartWithStdin(t, bin, env, r, "-")
	r.Close()
	t.Cleanup(func() { w.Close() })
	return &piped{p: p, w: w}
}

// write writes b to the process's input, failing t (unless nil) on error.
func (f *piped) write(t *testing.T, b []byte) {
	_, err := f.w.Write(b)
	if t != nil {
		require.NoError(t, err)
	}
}

// finish writes the rest of the input and closes it, ignoring errors (the
// process may be gone).
func (f *piped) finish(rest []byte) {
	f.write(nil, rest)
	f.w.Close()
}

// rowsEnd returns the offset in a CSV input (one line per record) just
// past its header and the given number of rows.
func rowsEnd(input []byte, rows int) int {
	off := 0
	for range rows + 1 {
		off += bytes.IndexByte(input[off:], '\n') + 1
	}
	return off
}

// block inserts c in a transaction that it leaves open: a chunk holding
// c's id waits for it, mid-copy, until it ends.
func block(t *testing.T, db *sql.DB, c common.Customer) *sql.Tx {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.FirstName, c.LastName, c.Email, c.Phone)
	require.NoError(t, err)
	return tx
}

// waitCopyBlocked waits until a parser's copy waits for a transaction of
// block.
func waitCopyBlocked(t *testing.T, db *sql.DB) {
	t.Helper()
	waitFor(t, time.Minute, 10*time.Millisecond, "a parser's copy waiting for our transaction", func() bool {
		return count(db, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'COPY%'`) == 1
	})
}

// waitStored waits until the database holds n customers.
func waitStored(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	waitFor(t, time.Minute, 10*time.Millisecond, fmt.Sprintf("%d customers stored", n), func() bool {
		return count(db, `SELECT count(*) FROM customers`) == n
	})
}
