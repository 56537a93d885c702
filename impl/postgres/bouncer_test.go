package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/impl/queuetest"
)

// bounced returns a store on a fresh database, opened through PgBouncer
// in transaction mode with its stock settings, with the database's DSN
// through PgBouncer and on the server itself.
func bounced(t *testing.T) (db *postgres.DB, pooled, direct string) {
	t.Helper()
	direct = pgtest.DSN(t)
	_, pooled = pgtest.Bouncing(t, direct, pgtest.BouncerOptions{})
	return openDSN(t, pooled), pooled, direct
}

// The Queue contract holds through a transaction-pooling proxy: every
// claim and settle is one statement, with no prepared statement, session
// setting or lock that outlives it.
func TestQueueContractThroughPgBouncer(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Store {
		db, _, _ := bounced(t)
		return contractStore{db}
	})
}

// What the parser and integrator's commands do besides the Queue works
// through PgBouncer in transaction mode: chunks stored (new ids, then ids
// stored already, which takes the other paths), the status, retry-failed,
// a recount, tidying the counts.
func TestStoreThroughPgBouncer(t *testing.T) {
	db, _, _ := bounced(t)
	w := db.Writer()
	var chunk []common.Customer
	for id := int64(1); id <= 2000; id++ {
		chunk = append(chunk, cust(id, "x"))
	}
	res, err := w.WriteChunk(ctxT(t), chunk)
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 2000}, res)
	res, err = w.WriteChunk(ctxT(t), append(chunk[1000:], cust(2001, "y")))
	require.NoError(t, err)
	assert.Equal(t, common.ChunkResult{Stored: 1, Duplicates: 1000}, res)

	q := db.Queue("a")
	c, err := q.Claim(ctxT(t), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, c.Deliveries, 10)
	var outcomes []common.Outcome
	for _, d := range c.Deliveries {
		outcomes = append(outcomes, common.Outcome{ID: d.ID, Claim: c.ID, Err: "status 400", GiveUp: true})
	}
	require.NoError(t, q.Settle(ctxT(t), outcomes, []int64{c.ID}))

	st, err := db.Status(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, int64(10), st.Failed)
	assert.Equal(t, int64(1991), st.Pending)
	require.Len(t, st.LastErrors, 1)
	n, err := db.RetryFailed(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, int64(10), n)
	r, err := db.Recount(ctxT(t))
	require.NoError(t, err)
	assert.True(t, r.Exact(), "%+v", r)
	assert.Equal(t, int64(2001), r.Records)
	require.NoError(t, db.FoldCounts(ctxT(t)))
}

// Notifications need a session of their own: through a transaction
// pooler a listener's LISTEN succeeds and nothing comes back, which
// Hears finds within its bound; on the server itself, or through a
// session pooler, it hears at once.
func TestListenerHearsOnlyOnASession(t *testing.T) {
	db, pooled, direct := bounced(t)
	through, err := postgres.Listen(pooled, postgres.Options{ConnectTimeout: 5 * time.Second}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { through.Close() })
	const within = 2 * time.Second
	start := time.Now()
	heard, err := through.Hears(ctxT(t), db, within)
	require.NoError(t, err)
	assert.False(t, heard, "through PgBouncer in transaction mode")
	assert.Less(t, time.Since(start), within+time.Second)

	ln := listen(t, direct)
	start = time.Now()
	heard, err = ln.Hears(ctxT(t), db, within)
	require.NoError(t, err)
	assert.True(t, heard, "on the server itself, notified through PgBouncer")
	assert.Less(t, time.Since(start), within/2)
	requireNoWake(t, ln, 200*time.Millisecond, "Hears's own notifications wake no one")

	// A session-mode pool keeps a client's server connection: LISTEN_DSN
	// may point at one.
	_, session := pgtest.Bouncing(t, direct, pgtest.BouncerOptions{PoolMode: "session"})
	ln = listen(t, session)
	heard, err = ln.Hears(ctxT(t), db, within)
	require.NoError(t, err)
	assert.True(t, heard, "through PgBouncer in session mode")
}
