package postgres_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
)

// hangTimeout is DB_TIMEOUT in the tests of a hanging host: long enough
// that waiting it out on the first host shows.
const hangTimeout = 5 * time.Second

// hostsFirst returns dsn (a URL) listing first before its own host, with
// target_session_attrs=read-write, as a DSN naming a primary and its
// standby does.
func hostsFirst(t *testing.T, first, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = first + "," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	u.RawQuery = q.Encode()
	return u.String()
}

// newConns opens n connections of db's pool at once and returns how long
// that took.
func newConns(t *testing.T, db *postgres.DB, n int) time.Duration {
	t.Helper()
	start := time.Now()
	for range n {
		c, err := db.SQL().Conn(ctxT(t))
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.PingContext(ctxT(t)))
	}
	return time.Since(start)
}

// A first host that accepts connections and never answers (an old
// primary whose packets are black-holed past the handshake) takes a share
// of the connection's time, not all of it; the next connections try it
// after the other hosts.
func TestMultiHostPassesAHostThatNeverAnswers(t *testing.T) {
	direct := pgtest.DSN(t)
	p, _ := pgtest.Proxy(t, direct)
	p.SetNew(faultproxy.NewHang)
	passesHungFirstHost(t, hostsFirst(t, p.Addr(), direct), "never answers")
}

// passesHungFirstHost opens dsn, whose first host hangs as what says, and
// checks that it takes a share of the connection's time, not all of it,
// and that the next connections try it after the other hosts.
func passesHungFirstHost(t *testing.T, dsn, what string) {
	t.Helper()
	start := time.Now()
	db := openWith(t, dsn, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: hangTimeout})
	opened := time.Since(start)
	t.Logf("Open with a first host that %s: %s (DB_TIMEOUT %s)", what, opened, hangTimeout)
	assert.Less(t, opened, hangTimeout*3/5, "the hanging host gets a share of the time")

	took := newConns(t, db, 3)
	t.Logf("3 new connections after: %s", took)
	assert.Less(t, took, time.Second, "the hanging host is tried last")
}

// A pool whose host starts hanging (failover to the next host) opens its
// next connections there within a share of DB_TIMEOUT, not after it.
func TestMultiHostPoolFailsOverFromAHangingHost(t *testing.T) {
	direct := pgtest.DSN(t)
	p, _ := pgtest.Proxy(t, direct)
	db := openWith(t, hostsFirst(t, p.Addr(), direct), postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: hangTimeout})
	var one int
	require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one))
	require.Positive(t, p.Open(), "connected through the first host")

	// The first host hangs from now on; the pool's idle connections are
	// gone (a lost one costs DB_TIMEOUT, see the tests of timeout_test.go).
	p.SetNew(faultproxy.NewHang)
	db.SQL().SetMaxIdleConns(0)
	start := time.Now()
	require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one))
	took := time.Since(start)
	t.Logf("first query on a new connection after the host hangs: %s (DB_TIMEOUT %s)", took, hangTimeout)
	assert.Less(t, took, hangTimeout*3/5)

	start = time.Now()
	for range 3 {
		require.NoError(t, db.SQL().QueryRowContext(ctxT(t), `SELECT 1`).Scan(&one))
	}
	took = time.Since(start)
	t.Logf("3 more queries, each on a new connection: %s", took)
	assert.Less(t, took, time.Second, "the hanging host is tried last")
}

// At start, the hosts share CONNECT_TIMEOUT when it is the shorter: a
// hanging first host does not keep Open past it at the default
// DB_TIMEOUT.
func TestMultiHostOpenSharesConnectTimeout(t *testing.T) {
	direct := pgtest.DSN(t)
	p, _ := pgtest.Proxy(t, direct)
	p.SetNew(faultproxy.NewHang)

	start := time.Now()
	openWith(t, hostsFirst(t, p.Addr(), direct), postgres.Options{ConnectTimeout: 4 * time.Second})
	opened := time.Since(start)
	t.Logf("Open with a first host that never answers: %s (CONNECT_TIMEOUT 4s, DB_TIMEOUT %s)", opened, postgres.DefaultTimeout)
	assert.Less(t, opened, 3*time.Second)
}

// The listening connection passes a first host that never answers too,
// within the wait for the first connection at the default DB_TIMEOUT.
func TestMultiHostListenPassesAHostThatNeverAnswers(t *testing.T) {
	direct := pgtest.DSN(t)
	p, _ := pgtest.Proxy(t, direct)
	p.SetNew(faultproxy.NewHang)
	dsn := hostsFirst(t, p.Addr(), direct)
	q := "&sslmode=prefer" // the hanging host is dialled again without TLS
	dsn = strings.Replace(dsn, "sslmode=disable", "", 1) + q

	start := time.Now()
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 4 * time.Second}, nil)
	took := time.Since(start)
	t.Logf("Listen with a first host that never answers: %s (waits 5s; DB_TIMEOUT %s)", took, postgres.DefaultTimeout)
	require.NoError(t, err)
	defer ln.Close()
	assert.Less(t, took, 4*time.Second)
}
