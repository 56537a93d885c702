package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

func listen(t *testing.T, dsn string) *postgres.Listener {
	t.Helper()
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

func requireWake(t *testing.T, ln *postgres.Listener, within time.Duration, msg string) {
	t.Helper()
	select {
	case <-ln.Wake():
	case <-time.After(within):
		t.Fatalf("no wake-up within %s: %s", within, msg)
	}
}

func requireNoWake(t *testing.T, ln *postgres.Listener, during time.Duration, msg string) {
	t.Helper()
	select {
	case <-ln.Wake():
		t.Fatalf("unexpected wake-up: %s", msg)
	case <-time.After(during):
	}
}

func TestNotifyAfterCommitNotAfterRollback(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	ln := listen(t, dsn)
	w := db.Writer()

	_, err := w.WriteChunk(ctxT(t), []common.Customer{cust(1, "a"), {ID: 2, FirstName: "\x00"}})
	require.Error(t, err)
	requireNoWake(t, ln, 500*time.Millisecond, "a chunk that rolled back must not notify")

	_, err = w.WriteChunk(ctxT(t), []common.Customer{cust(1, "a")})
	require.NoError(t, err)
	requireWake(t, ln, 2*time.Second, "committed chunk")

	_, err = w.WriteChunk(ctxT(t), []common.Customer{cust(1, "a")})
	require.NoError(t, err)
	requireNoWake(t, ln, 300*time.Millisecond, "a chunk of duplicates stores nothing to announce")
}

func TestListenerReconnectsAfterRestart(t *testing.T) {
	cluster := pgtest.SharedCluster(t)
	dsn := pgtest.DSN(t)
	db := openDSN(t, dsn)
	ln := listen(t, dsn)
	require.True(t, ln.Connected())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, cluster.Restart(ctx))

	// The reconnect itself wakes the integrator: notifications may be lost.
	requireWake(t, ln, 15*time.Second, "reconnect")
	require.Eventually(t, ln.Connected, 10*time.Second, 50*time.Millisecond)
	// And notifications flow again over the new connection.
	for range 3 {
		select {
		case <-ln.Wake():
		default:
		}
		_, err := db.Writer().WriteChunk(ctx, []common.Customer{cust(time.Now().UnixNano(), "n")})
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the pool drops its dead connections
	}
	requireWake(t, ln, 5*time.Second, "notification after reconnect")
}

// A listening connection is kept while idle and healthy; frozen while
// idle, it is noticed by its pings and replaced; the reconnect wakes the integrator, and notifications flow
// over the new connection.
func TestListenerHealsAFrozenConnection(t *testing.T) {
	base := pgtest.DSN(t)
	db := openDSN(t, base)
	p, dsn := pgtest.Proxy(t, base)
	events := make(chan postgres.ListenerEvent, 16)
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: testTimeout}, func(ev postgres.ListenerEvent, _ error) {
		select {
		case events <- ev:
		default:
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	require.Eventually(t, ln.Connected, 5*time.Second, 10*time.Millisecond)
	// Idle for several timeouts, a healthy connection stays: its pings
	// are answered.
	requireNoEvent(t, events, postgres.ListenerDisconnected, 3*testTimeout)
	require.Equal(t, 1, p.Freeze())
	frozen := time.Now()

	// A ping at most half a timeout later gets no answer within the
	// timeout.
	requireEvent(t, events, postgres.ListenerDisconnected, 3*testTimeout)
	assert.Less(t, time.Since(frozen), 2*testTimeout, "the frozen connection is noticed within 1.5 timeouts")
	requireEvent(t, events, postgres.ListenerReconnected, 5*time.Second)
	requireWake(t, ln, time.Second, "the reconnect wakes the integrator")
	_, err = db.Writer().WriteChunk(ctxT(t), []common.Customer{cust(1, "a")})
	require.NoError(t, err)
	requireWake(t, ln, time.Second, "a notification over the new connection")
}

func requireEvent(t *testing.T, events <-chan postgres.ListenerEvent, want postgres.ListenerEvent, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-events:
			if ev == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q event within %s", want, within)
		}
	}
}

func requireNoEvent(t *testing.T, events <-chan postgres.ListenerEvent, unwanted postgres.ListenerEvent, during time.Duration) {
	t.Helper()
	end := time.After(during)
	for {
		select {
		case ev := <-events:
			if ev == unwanted {
				t.Fatalf("unexpected %q event", unwanted)
			}
		case <-end:
			return
		}
	}
}

func TestListenerEventString(t *testing.T) {
	for ev, want := range map[postgres.ListenerEvent]string{
		postgres.ListenerConnected:     "connected",
		postgres.ListenerDisconnected:  "disconnected",
		postgres.ListenerReconnected:   "reconnected",
		postgres.ListenerConnectFailed: "connectionAttemptFailed",
		postgres.ListenerEvent(0):      "ListenerEvent(0)",
	} {
		assert.Equal(t, want, ev.String())
	}
}
