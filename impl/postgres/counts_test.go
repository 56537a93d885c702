package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// scanned reads the status by scanning the customers table, as the store
// did before it kept counts: the oracle the counts are checked against.
func scanned(t *testing.T, db *postgres.DB) postgres.Status {
	t.Helper()
	var st postgres.Status
	tx, err := db.SQL().BeginTx(ctxT(t), &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	require.NoError(t, err)
	defer tx.Rollback()
	var oldest sql.NullTime
	require.NoError(t, tx.QueryRow(`
		WITH c AS (
			SELECT state, attempts, next_attempt_at, created_at, sent_at, version,
			       id IN (SELECT unnest(ids) FROM claims WHERE lease_until > now()) AS claimed
			FROM customers
		)
		SELECT count(*) FILTER (WHERE state = 'pending' AND NOT claimed AND NOT (next_attempt_at > now() AND attempts > 0)),
		       count(*) FILTER (WHERE state = 'pending' AND claimed),
		       count(*) FILTER (WHERE state = 'pending' AND NOT claimed AND next_attempt_at > now() AND attempts > 0),
		       count(*) FILTER (WHERE state = 'sent'),
		       count(*) FILTER (WHERE state = 'failed'),
		       count(*) FILTER (WHERE state = 'rejected'),
		       min(created_at) FILTER (WHERE state IN ('pending', 'failed')),
		       count(*) FILTER (WHERE state = 'sent' AND sent_at > now() - interval '1 minute'),
		       count(*) FILTER (WHERE state = 'pending' AND version > 1)
		FROM c`).Scan(&st.Pending, &st.InFlight, &st.WaitingRetry, &st.Sent, &st.Failed, &st.Rejected, &oldest, &st.SentLastMinute, &st.NewerVersion))
	st.OldestCreatedAt = oldest.Time
	st.Rejections = scannedRejections(t, tx)
	rows, err := tx.Query(`SELECT last_error, count(*) AS n FROM customers
		WHERE state IN ('pending', 'failed') AND last_error <> ''
		GROUP BY last_error ORDER BY n DESC, last_error LIMIT 5`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var e common.ErrorCount
		require.NoError(t, rows.Scan(&e.Error, &e.Records))
		st.LastErrors = append(st.LastErrors, e)
	}
	require.NoError(t, rows.Err())
	return st
}

// requireCounted checks that the status the store reads from its counts
// is the one the table's rows give.
func requireCounted(t *testing.T, db *postgres.DB) {
	t.Helper()
	want := scanned(t, db)
	got, err := db.Status(ctxT(t))
	require.NoError(t, err)
	if want.OldestCreatedAt.IsZero() {
		assert.Zero(t, got.OldestUndelivered)
	} else {
		assert.InDelta(t, time.Since(want.OldestCreatedAt).Seconds(), got.OldestUndelivered.Seconds(), 5)
	}
	got.OldestUndelivered = 0
	require.True(t, want.OldestCreatedAt.Equal(got.OldestCreatedAt), "oldest stored: want %s, got %s", want.OldestCreatedAt, got.OldestCreatedAt)
	want.OldestCreatedAt, got.OldestCreatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func execAll(t *testing.T, db *postgres.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.SQL().Exec(s)
		require.NoError(t, err, s)
	}
}

// Every way the table changes keeps the counts exact; the changes are
// made one after the other on one table, each checked against the rows.
func TestCountsFollowEveryChange(t *testing.T) {
	db := open(t)
	q := db.Queue("a")
	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"chunks copied", func(t *testing.T) {
			for first := int64(1); first <= 300; first += 100 {
				chunk := make([]common.Customer, 100)
				for i := range chunk {
					chunk[i] = cust(first+int64(i), "x")
				}
				_, err := db.Writer().WriteChunk(ctxT(t), chunk)
				require.NoError(t, err)
			}
		}},
		{"a chunk of stored and new ids", func(t *testing.T) {
			w := db.Writer()
			res, err := w.WriteChunk(ctxT(t), []common.Customer{cust(1, "again"), cust(301, "new"), cust(302, "new")})
			require.NoError(t, err)
			require.Equal(t, int64(2), res.Stored)
		}},
		{"insert on conflict do nothing, in several states", func(t *testing.T) {
			execAll(t, db, `INSERT INTO customers (id, first_name, last_name, email, phone, state, attempts, last_error, created_at, sent_at)
				VALUES (2, 'f', 'l', 'e', 'p', 'sent', 0, NULL, now(), now()),
				       (400, 'f', 'l', 'e', 'p', 'sent', 1, 'status 500', now() - interval '1 hour', now() - interval '10 seconds'),
				       (401, 'f', 'l', 'e', 'p', 'failed', 5, 'status 503', now() - interval '3 hours', NULL),
				       (402, 'f', 'l', 'e', 'p', 'pending', 2, 'timeout', now() - interval '2 hours', NULL)
				ON CONFLICT (id) DO NOTHING`)
		}},
		{"claimed, then settled: sent, retried, given up", func(t *testing.T) {
			got, err := q.Claim(ctxT(t), 50, time.Minute)
			require.NoError(t, err)
			require.Len(t, got.Deliveries, 50)
			var outcomes []common.Outcome
			for i, d := range got.Deliveries {
				switch i % 5 {
				case 0:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Err: "status 500", RetryIn: time.Hour})
				case 1:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Err: "status 429", GiveUp: true})
				default:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Sent: true})
				}
			}
			// In flight, then settled in two batches.
			requireCounted(t, db)
			require.NoError(t, q.Settle(ctxT(t), outcomes[:20], nil))
			requireCounted(t, db)
			require.NoError(t, q.Settle(ctxT(t), outcomes[20:], []int64{got.ID}))
		}},
		{"claimed, then rejected", func(t *testing.T) {
			got, err := q.Claim(ctxT(t), 30, time.Minute)
			require.NoError(t, err)
			require.Len(t, got.Deliveries, 30)
			var outcomes []common.Outcome
			for i, d := range got.Deliveries {
				switch i % 3 {
				case 0:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Err: fmt.Sprintf(`status 400: {"id":%d,"error":"INVALID_EMAIL"}`, d.ID), Reject: true, Status: 400})
				case 1:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Err: "status 409: exists", Reject: true, Status: 409})
				default:
					outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Sent: true})
				}
			}
			require.NoError(t, q.Settle(ctxT(t), outcomes, []int64{got.ID}))
		}},
		{"retry-failed", func(t *testing.T) {
			n, err := db.RetryFailed(ctxT(t))
			require.NoError(t, err)
			require.Equal(t, int64(11), n)
		}},
		{"retry-failed --rejected=409", func(t *testing.T) {
			n, err := db.RetryRejected(ctxT(t), []int{409})
			require.NoError(t, err)
			require.Equal(t, int64(10), n)
		}},
		{"rejected by hand", func(t *testing.T) {
			execAll(t, db, `UPDATE customers SET state = 'rejected', last_error = 'by hand' WHERE id IN (401, 402)`)
		}},
		{"updated by hand", func(t *testing.T) {
			execAll(t, db,
				`UPDATE customers SET state = 'pending', sent_at = NULL WHERE id IN (SELECT id FROM customers WHERE state = 'sent' ORDER BY id LIMIT 3)`,
				`UPDATE customers SET last_error = 'edited' WHERE id = 402`,
				`UPDATE customers SET created_at = now() - interval '5 hours' WHERE id = 300`,
				`UPDATE customers SET first_name = 'renamed'`)
		}},
		{"updated from a session with another search_path", func(t *testing.T) {
			tx, err := db.SQL().Begin()
			require.NoError(t, err)
			defer tx.Rollback()
			_, err = tx.Exec(`SET LOCAL search_path = pg_catalog`)
			require.NoError(t, err)
			var schema string
			require.NoError(t, db.SQL().QueryRow(`SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'customers'::regclass`).Scan(&schema))
			_, err = tx.Exec(`UPDATE ` + schema + `.customers SET last_error = 'elsewhere' WHERE id = 5`)
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
		}},
		{"deleted by hand", func(t *testing.T) {
			execAll(t, db, `DELETE FROM customers WHERE id % 7 = 0`)
		}},
		{"a savepoint rolled back", func(t *testing.T) {
			tx, err := db.SQL().Begin()
			require.NoError(t, err)
			defer tx.Rollback()
			for _, s := range []string{
				`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (500, 'f', 'l', 'e', 'p')`,
				`SAVEPOINT s`,
				`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (501, 'f', 'l', 'e', 'p')`,
				`UPDATE customers SET state = 'sent', sent_at = now() WHERE id = 500`,
				`ROLLBACK TO SAVEPOINT s`,
				`INSERT INTO customers (id, first_name, last_name, email, phone, state, last_error) VALUES (502, 'f', 'l', 'e', 'p', 'failed', 'x')`,
			} {
				_, err := tx.Exec(s)
				require.NoError(t, err, s)
			}
			require.NoError(t, tx.Commit())
		}},
		{"tidied", func(t *testing.T) {
			require.NoError(t, db.FoldCounts(ctxT(t)))
			assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM counts`), "folded")
			assert.Zero(t, count(t, db, `SELECT count(*) FROM (SELECT created_at FROM counts_undelivered GROUP BY 1 HAVING count(*) > 1) k`), "folded")
			assert.Zero(t, count(t, db, `SELECT count(*) FROM counts_undelivered WHERE records = 0`), "empty counts dropped")
			assert.Zero(t, count(t, db, `SELECT count(*) FROM (SELECT error FROM counts_errors GROUP BY 1 HAVING count(*) > 1) k`), "folded")
		}},
		{"retry-failed --rejected", func(t *testing.T) {
			n, err := db.RetryRejected(ctxT(t), nil)
			require.NoError(t, err)
			require.Positive(t, n)
		}},
		{"truncated, then loaded", func(t *testing.T) {
			execAll(t, db, `TRUNCATE customers`)
			requireCounted(t, db)
			load(t, db, 10)
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do(t)
			requireCounted(t, db)
			r, err := db.Recount(ctxT(t))
			require.NoError(t, err)
			assert.True(t, r.Exact(), "%+v", r)
			assert.Equal(t, scanned(t, db).Total(), r.Records)
		})
	}
}

// A table changed while the counting triggers were disabled is counted
// again by Recount.
func TestRecountCorrectsTheCounts(t *testing.T) {
	db := open(t)
	load(t, db, 10)
	execAll(t, db, `ALTER TABLE customers DISABLE TRIGGER USER`,
		`UPDATE customers SET state = 'sent', sent_at = now() WHERE id <= 3`,
		`UPDATE customers SET state = 'failed', last_error = 'by hand', created_at = now() - interval '1 day' WHERE id = 4`,
		`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (11, 'f', 'l', 'e', 'p')`,
		`ALTER TABLE customers ENABLE TRIGGER USER`)
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, int64(10), st.Pending, "the counts missed the changes")

	r, err := db.Recount(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, postgres.Recounted{Records: 11, Pending: -3, Sent: 3, Failed: 1, Stored: 3, SentLately: 1, Errors: 1}, r,
		"pending: 3 sent, 1 failed, 1 added; stored: the chunk's time, a day ago, the new record's time")
	assert.False(t, r.Exact())
	requireCounted(t, db)
	r, err = db.Recount(ctxT(t))
	require.NoError(t, err)
	assert.True(t, r.Exact(), "%+v", r)
}

// Recount is exact while records are loaded and delivered, and the
// settles and chunks of others do not wait for it.
func TestRecountWhileRecordsMove(t *testing.T) {
	db := open(t)
	load(t, db, 2000)
	execAll(t, db, `ALTER TABLE customers DISABLE TRIGGER USER`,
		`UPDATE customers SET attempts = 1, last_error = 'drift' WHERE id <= 5`,
		`ALTER TABLE customers ENABLE TRIGGER USER`)
	ctx, cancel := context.WithTimeout(ctxT(t), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(2)
	go func() { // a parser
		defer wg.Done()
		w := db.Writer()
		for first := int64(10_000); ctx.Err() == nil; first += 50 {
			chunk := make([]common.Customer, 50)
			for i := range chunk {
				chunk[i] = cust(first+int64(i), "x")
			}
			if _, err := w.WriteChunk(ctx, chunk); err != nil && ctx.Err() == nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // an integrator
		defer wg.Done()
		q := db.Queue("a")
		for n := 0; ctx.Err() == nil; n++ {
			got, err := q.Claim(ctx, 40, time.Minute)
			if err != nil {
				if ctx.Err() == nil {
					errs <- err
				}
				return
			}
			var outcomes []common.Outcome
			for i, d := range got.Deliveries {
				outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: got.ID, Sent: i%4 != 0, Err: "status 500", RetryIn: time.Minute})
			}
			if err := q.Settle(context.WithoutCancel(ctx), outcomes, []int64{got.ID}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for ctx.Err() == nil {
		r, err := db.Recount(ctxT(t))
		require.NoError(t, err)
		if !r.Exact() {
			assert.Equal(t, int64(1), r.Errors, "only the drift is corrected: %+v", r)
			assert.Zero(t, r.Pending+r.Sent+r.Failed)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireCounted(t, db)
	r, err := db.Recount(ctxT(t))
	require.NoError(t, err)
	assert.True(t, r.Exact(), "%+v", r)
}

// Transactions that change records at once append to the counts: none
// waits for another's counter row.
func TestCountsDoNotMakeWritersWait(t *testing.T) {
	db := open(t)
	var open []*sql.Tx
	defer func() {
		for _, tx := range open {
			tx.Rollback()
		}
	}()
	for id := int64(1); id <= 20; id++ { // all open at once
		tx, err := db.SQL().Begin()
		require.NoError(t, err)
		open = append(open, tx)
		_, err = tx.Exec(`SET LOCAL lock_timeout = '500ms'`)
		require.NoError(t, err)
		_, err = tx.Exec(`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES ($1, 'f', 'l', 'e', 'p')`, id)
		require.NoError(t, err, "insert %d did not wait for the %d open transactions", id, id-1)
	}
	for _, tx := range open {
		require.NoError(t, tx.Commit())
	}
	open = nil
	assert.Equal(t, 20, count(t, db, `SELECT count(*) FROM counts_stale`), "inserts by hand: a mark of its own for each")
	requireCounted(t, db)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM counts_stale`), "counted")
}

// A database of the schema before counts, with records in every state,
// is counted exactly when a new version opens it, loses the index that
// only the status used, and gets the table's autovacuum settings.
func TestMigrateCountsAnExistingTable(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	execAll(t, db, `DROP TABLE counts, counts_undelivered, counts_sent, counts_errors`,
		`DROP TRIGGER customers_insert_uncounted ON customers`, `DROP TRIGGER customers_count_update ON customers`,
		`DROP TRIGGER customers_count_delete ON customers`, `DROP TRIGGER customers_count_truncate ON customers`,
		`CREATE INDEX customers_sent_at ON customers (sent_at) WHERE state = 'sent'`,
		`ALTER TABLE customers RESET (autovacuum_vacuum_insert_threshold, autovacuum_vacuum_cost_limit)`)
	knownState(t, db)

	db = openDSN(t, dsn)
	requireCounted(t, db)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM pg_indexes WHERE indexname = 'customers_sent_at'`), "the index of the older schema is dropped")
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_class WHERE oid = 'customers'::regclass
		AND reloptions @> '{autovacuum_vacuum_insert_threshold=-1,autovacuum_vacuum_cost_limit=2000}'`),
		"no vacuum for inserts alone, vacuum less throttled")
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, common.Backlog{Pending: 3, InFlight: 3, WaitingRetry: 2, Sent: 4, Failed: 2}, withoutAge(st.Backlog))
}

func withoutAge(b common.Backlog) common.Backlog { b.OldestUndelivered = 0; return b }

// TestStoreOpenedToFoldCountsFoldsThem checks Options.FoldCounts: the
// rows the triggers append are folded while the store is open.
func TestStoreOpenedToFoldCountsFoldsThem(t *testing.T) {
	defer postgres.SetFoldCountsEvery(50 * time.Millisecond)()
	db := openWith(t, pgtest.DSN(t), postgres.Options{ConnectTimeout: 10 * time.Second, FoldCounts: true})
	execAll(t, db,
		`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (1, 'f', 'l', 'e', 'p')`,
		`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (2, 'f', 'l', 'e', 'p')`)
	assert.Eventually(t, func() bool { return count(t, db, `SELECT count(*) FROM counts`) == 1 }, 10*time.Second, 20*time.Millisecond, "folded")
	requireCounted(t, db)
}
