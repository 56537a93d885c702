package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lib/pq"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/impl/queuetest"
)

// insertRow stores a customer in a chosen delivery state; the other
// columns are SQL expressions.
func insertRow(t *testing.T, db *postgres.DB, id int64, state string, attempts int, lastErr any, cols map[string]string) {
	t.Helper()
	expr := func(name, def string) string {
		if v, ok := cols[name]; ok {
			return v
		}
		return def
	}
	_, err := db.SQL().Exec(`INSERT INTO customers
		(id, first_name, last_name, email, phone, state, attempts, last_error,
		 next_attempt_at, created_at, sent_at)
		VALUES ($1, 'f', 'l', 'e', 'p', $2, $3, $4, `+
		expr("next_attempt_at", "now()")+`, `+
		expr("created_at", "now()")+`, `+
		expr("sent_at", "NULL")+`)`,
		id, state, attempts, lastErr)
	require.NoError(t, err)
}

// insertClaim stores a claim of owner listing ids, whose lease ends at
// the SQL expression until.
func insertClaim(t *testing.T, db *postgres.DB, owner, until string, ids ...int64) {
	t.Helper()
	_, err := db.SQL().Exec(`INSERT INTO claims (owner, lease_until, ids) VALUES ($1, `+until+`, $2)`, owner, pq.Int64Array(ids))
	require.NoError(t, err)
}

// knownState fills db with records in every state:
// 3 pending, 3 in flight, 2 waiting for a retry, 4 sent, 2 failed.
func knownState(t *testing.T, db *postgres.DB) {
	t.Helper()
	// Pending: never tried, due; never tried, oldest of all; in a claim
	// whose lease ran out.
	insertRow(t, db, 1, "pending", 0, nil, nil)
	insertRow(t, db, 2, "pending", 0, nil, map[string]string{"created_at": "now() - interval '2 hours'"})
	insertRow(t, db, 3, "pending", 1, "status 500", map[string]string{"next_attempt_at": "now() - interval '1 second'"})
	insertClaim(t, db, "dead", "now() - interval '1 second'", 3)
	// In flight: in a live claim, one of them retried before; the claim
	// also lists a record sent since.
	for id := int64(4); id <= 6; id++ {
		insertRow(t, db, id, "pending", int(id-4), nil, nil)
	}
	insertClaim(t, db, "live", "now() + interval '30 seconds'", 4, 5, 6, 9)
	// Waiting for a retry.
	insertRow(t, db, 7, "pending", 2, "status 500", map[string]string{"next_attempt_at": "now() + interval '1 minute'"})
	insertRow(t, db, 8, "pending", 1, "timeout: context deadline exceeded", map[string]string{"next_attempt_at": "now() + interval '5 seconds'"})
	// Sent: three in the last minute, one an hour ago.
	for id := int64(9); id <= 11; id++ {
		insertRow(t, db, id, "sent", 0, nil, map[string]string{"sent_at": "now() - interval '10 seconds'"})
	}
	insertRow(t, db, 12, "sent", 3, "status 503", map[string]string{"sent_at": "now() - interval '1 hour'", "created_at": "now() - interval '3 hours'"})
	// Failed.
	insertRow(t, db, 13, "failed", 5, "status 500", map[string]string{"created_at": "now() - interval '1 hour'"})
	insertRow(t, db, 14, "failed", 5, "connection: connection refused", nil)
}

func TestStatusOfAKnownState(t *testing.T) {
	db := open(t)
	knownState(t, db)
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	want := common.Backlog{Pending: 3, InFlight: 3, WaitingRetry: 2, Sent: 4, Failed: 2}
	got := st.Backlog
	got.OldestUndelivered = 0
	assert.Equal(t, want, got)
	assert.Equal(t, int64(10), st.Undelivered())
	assert.Equal(t, int64(14), st.Total())
	assert.InDelta(t, (2 * time.Hour).Seconds(), st.OldestUndelivered.Seconds(), 60, "record 2 is the oldest undelivered")
	assert.WithinDuration(t, time.Now().Add(-2*time.Hour), st.OldestCreatedAt, time.Minute)
	assert.Equal(t, []common.ErrorCount{
		{Error: "status 500", Records: 3},
		{Error: "connection: connection refused", Records: 1},
		{Error: "timeout: context deadline exceeded", Records: 1},
	}, st.LastErrors)
	assert.Equal(t, int64(3), st.SentLastMinute)

	b, err := db.Backlog(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, want.Pending, b.Pending)
	assert.Equal(t, want.Failed, b.Failed)
	assert.Equal(t, want.Sent, b.Sent)
	assert.InDelta(t, st.OldestUndelivered.Seconds(), b.OldestUndelivered.Seconds(), 60)
}

func TestStatusOfAnEmptyStore(t *testing.T) {
	db := open(t)
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, postgres.Status{}, st)
}

func TestSettleGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		settledBy string
		outcome   common.Outcome
		wantState string
		wantErr   string
	}{
		{"given up by its holder", "a", common.Outcome{ID: 1, Err: "status 500", GiveUp: true}, "failed", "status 500"},
		{"retried by its holder", "a", common.Outcome{ID: 1, Err: "timeout", RetryIn: time.Minute}, "pending", "timeout"},
		{"sent despite a give-up flag", "a", common.Outcome{ID: 1, Sent: true, GiveUp: true}, "sent", ""},
		{"given up by another integrator", "b", common.Outcome{ID: 1, Err: "status 500", GiveUp: true}, "pending", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			load(t, db, 1)
			holder := db.Queue("a")
			c, err := holder.Claim(ctxT(t), 10, time.Minute)
			require.NoError(t, err)
			settler := holder
			if tt.settledBy != "a" {
				settler = db.Queue(tt.settledBy)
			}
			o := tt.outcome
			o.Claim = c.ID
			var finished []int64
			if tt.settledBy == "a" {
				finished = []int64{c.ID} // its only record has an outcome
			}
			require.NoError(t, settler.Settle(ctxT(t), []common.Outcome{o}, finished))
			r := get(t, db, 1)
			assert.Equal(t, tt.wantState, r.State)
			if tt.wantErr != "" {
				require.NotNil(t, r.LastErr)
				assert.Equal(t, tt.wantErr, *r.LastErr)
			}
			if tt.wantState == "failed" {
				assert.Equal(t, 1, r.Attempts)
				claimed, err := db.Queue("c").Claim(ctxT(t), 10, time.Minute)
				require.NoError(t, err)
				assert.Empty(t, claimed.Deliveries, "a failed record is not claimed")
				_, ok, err := db.Queue("c").NextDue(ctxT(t))
				require.NoError(t, err)
				assert.False(t, ok, "a failed record is never due")
			}
		})
	}
}

func TestRetryFailedMovesFailedRecordsBack(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	knownState(t, db)
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()
	drain(ln)

	n, err := db.RetryFailed(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	select {
	case <-ln.Wake():
	case <-time.After(5 * time.Second):
		t.Fatal("retry-failed did not notify")
	}
	for _, id := range []int64{13, 14} {
		r := get(t, db, id)
		assert.Equal(t, "pending", r.State)
		assert.Zero(t, r.Attempts, "attempts start over")
		assert.LessOrEqual(t, r.DueInMs, 0.0, "due at once")
		assert.NotNil(t, r.LastErr, "the last error stays until the next attempt")
	}
	claimed, err := db.Queue("a").Claim(ctxT(t), 100, time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 2, 3, 13, 14}, queuetest.IDs(claimed))

	n, err = db.RetryFailed(ctxT(t))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to retry")
	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Zero(t, st.Failed)
}

// drain empties ln's wake-up channel.
func drain(ln *postgres.Listener) {
	for {
		select {
		case <-ln.Wake():
		default:
			return
		}
	}
}
