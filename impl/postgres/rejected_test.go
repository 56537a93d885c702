package postgres_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/impl/queuetest"
)

// rejectSome stores records 1..6 and settles them from one claim: 1-3
// rejected with 400 (3 last), 4 with 409, 5 sent, 6 retried.
func rejectSome(t *testing.T, db *postgres.DB) {
	t.Helper()
	load(t, db, 6)
	q := db.Queue("a")
	c, err := q.Claim(ctxT(t), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, c.Deliveries, 6)
	reject := func(id int64, status int) common.Outcome {
		return common.Outcome{ID: id, Claim: c.ID, Err: fmt.Sprintf("status %d: body of %d", status, id), Reject: true, Status: status}
	}
	for _, batch := range [][]common.Outcome{
		{reject(1, 400), reject(2, 400), reject(4, 409)},
		{reject(3, 400), {ID: 5, Claim: c.ID, Sent: true}, {ID: 6, Claim: c.ID, Err: "status 500", RetryIn: time.Hour}},
	} {
		require.NoError(t, q.Settle(ctxT(t), batch, nil))
		time.Sleep(10 * time.Millisecond) // the second batch is the latest
	}
	require.NoError(t, q.Settle(ctxT(t), nil, []int64{c.ID}))
}

func TestStatusShowsRejections(t *testing.T) {
	db := open(t)
	rejectSome(t, db)
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, common.Backlog{WaitingRetry: 1, Sent: 1, Rejected: 4}, withoutAge(st.Backlog))
	assert.Equal(t, int64(1), st.Undelivered(), "rejected records are not undelivered")
	assert.Equal(t, int64(6), st.Total())
	assert.Equal(t, []common.ErrorCount{{Error: "status 500", Records: 1}}, st.LastErrors, "rejections have their own list")
	assert.Equal(t, []postgres.StatusCount{{Status: 400, Records: 3}, {Status: 409, Records: 1}}, st.RejectedByStatus)
	require.Len(t, st.LatestRejections, 4)
	assert.Equal(t, int64(3), st.LatestRejections[0].ID, "latest first")
	assert.Equal(t, "status 400: body of 3", st.LatestRejections[0].Reason)
	assert.WithinDuration(t, time.Now(), st.LatestRejections[0].At, time.Minute)
	requireCounted(t, db)
}

func TestRetryRejected(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		want     []int64
	}{
		{"every status", nil, []int64{1, 2, 3, 4}},
		{"one status", []int{409}, []int64{4}},
		{"two statuses", []int{400, 409}, []int64{1, 2, 3, 4}},
		{"a status none has", []int{422}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			db := openDSN(t, dsn)
			rejectSome(t, db)
			ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
			require.NoError(t, err)
			defer ln.Close()
			drain(ln)

			n, err := db.RetryRejected(ctxT(t), tt.statuses)
			require.NoError(t, err)
			require.Equal(t, int64(len(tt.want)), n)
			if n > 0 {
				select {
				case <-ln.Wake():
				case <-time.After(5 * time.Second):
					t.Fatal("retry-failed --rejected did not notify")
				}
			}
			for _, id := range tt.want {
				r := get(t, db, id)
				assert.Equal(t, "pending", r.State)
				assert.Zero(t, r.Attempts, "attempts start over")
				assert.LessOrEqual(t, r.DueInMs, 0.0, "due at once")
				assert.NotNil(t, r.LastErr, "the reason stays until the next attempt")
			}
			claimed, err := db.Queue("b").Claim(ctxT(t), 100, time.Minute)
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.want, queuetest.IDs(claimed))
			requireCounted(t, db)
		})
	}
}

// A database of the schema before the rejected state (its CHECK allowing
// three states, unnamed; counts without a rejected column) is brought up
// to date when a new version opens it, and records can be rejected.
func TestMigrateAddsTheRejectedState(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	load(t, db, 3)
	execAll(t, db, `ALTER TABLE customers DROP CONSTRAINT customers_state`,
		`ALTER TABLE customers ADD CHECK (state IN ('pending', 'sent', 'failed'))`,
		`DROP INDEX customers_rejected`,
		`ALTER TABLE counts DROP COLUMN rejected`)
	_, err := db.SQL().Exec(`UPDATE customers SET state = 'rejected' WHERE id = 1`)
	require.Error(t, err, "the old CHECK refuses the state")
	_, err = db.SQL().Exec(`UPDATE customers SET state = 'sent', sent_at = now() WHERE id = 3`)
	require.Error(t, err, "the old schema's triggers were replaced: they need the rejected column")

	db = openDSN(t, dsn)
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'customers'::regclass AND contype = 'c'`), "one state CHECK")
	_, err = db.SQL().Exec(`UPDATE customers SET state = 'unknown' WHERE id = 2`)
	require.Error(t, err, "the new CHECK checks")
	q := db.Queue("a")
	c, err := q.Claim(ctxT(t), 10, time.Minute)
	require.NoError(t, err)
	require.NoError(t, q.Settle(ctxT(t), []common.Outcome{{ID: 1, Claim: c.ID, Err: "status 400", Reject: true, Status: 400}}, nil))
	assert.Equal(t, "rejected", get(t, db, 1).State)
	requireCounted(t, db)
}

// scannedRejections reads the rejected records' counts by status and
// the latest of them from the whole table.
func scannedRejections(t *testing.T, tx *sql.Tx) postgres.Rejections {
	t.Helper()
	var r postgres.Rejections
	rows, err := tx.Query(`SELECT CASE WHEN last_error ~ '^status [0-9]{3}' THEN substr(last_error, 8, 3)::int ELSE 0 END AS s,
		count(*) AS n FROM customers WHERE state = 'rejected' GROUP BY 1 ORDER BY n DESC, s`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var c postgres.StatusCount
		require.NoError(t, rows.Scan(&c.Status, &c.Records))
		r.RejectedByStatus = append(r.RejectedByStatus, c)
	}
	require.NoError(t, rows.Err())
	rows, err = tx.Query(`SELECT id, updated_at, coalesce(last_error, '') FROM customers WHERE state = 'rejected'
		ORDER BY updated_at DESC, id DESC LIMIT 5`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var j postgres.Rejection
		require.NoError(t, rows.Scan(&j.ID, &j.At, &j.Reason))
		r.LatestRejections = append(r.LatestRejections, j)
	}
	require.NoError(t, rows.Err())
	return r
}
