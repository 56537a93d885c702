package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Listener wakes an integrator when a chunk is committed. It keeps its own
// connection, which it re-establishes by itself when it is lost, and then
// wakes the integrator too, since notifications sent while it was away are
// lost. A listening connection is idle most of the time, and an idle
// connection that stopped answering looks just like a healthy one: the
// listener pings it every half timeout, and a ping without an answer
// within the timeout closes it (its deadline, see netconn.go), which
// replaces it.
//
// LISTEN needs a session of its own: behind a transaction-pooling proxy
// (PgBouncer's pool_mode = transaction) the LISTEN succeeds, but the
// server connection it ran on goes back to the pool, and notifications
// reach whichever client uses it next, if any. Hears tells whether
// notifications come through.
type Listener struct {
	l         *pq.Listener
	wake      chan struct{}
	selfTest  string        // the channel of Hears's notifications
	heard     chan struct{} // a notification on selfTest came
	connected atomic.Bool
	lastErr   atomic.Pointer[error]
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// ListenerEvent is a change of a Listener's connection, told to the
// onEvent function of Listen.
type ListenerEvent int

// The changes of a Listener's connection.
const (
	// ListenerConnected: the first connection is up.
	ListenerConnected ListenerEvent = iota + 1
	// ListenerDisconnected: the connection was lost (the listener
	// reconnects by itself).
	ListenerDisconnected
	// ListenerReconnected: a new connection is up after a loss;
	// notifications sent meanwhile are lost.
	ListenerReconnected
	// ListenerConnectFailed: an attempt to connect failed.
	ListenerConnectFailed
)

// listenerEvents maps lib/pq's events to ListenerEvent.
var listenerEvents = map[pq.ListenerEventType]ListenerEvent{
	pq.ListenerEventConnected:               ListenerConnected,
	pq.ListenerEventDisconnected:            ListenerDisconnected,
	pq.ListenerEventReconnected:             ListenerReconnected,
	pq.ListenerEventConnectionAttemptFailed: ListenerConnectFailed,
}

// String returns the event's name as lib/pq writes it: "connected",
// "disconnected", "reconnected" or "connectionAttemptFailed".
func (e ListenerEvent) String() string {
	for pe, le := range listenerEvents {
		if le == e {
			return pe.String()
		}
	}
	return fmt.Sprintf("ListenerEvent(%d)", int(e))
}

// Listen connects to dsn and listens on Channel, waiting up to
// opts.ConnectTimeout (at least 5s) for the first connection, but not
// after an error that waiting does not fix (see retryable), as Open; its
// round trips are bounded by opts.Timeout. onEvent, if not nil, is told of
// connection changes with the error that caused them.
func Listen(dsn string, opts Options, onEvent func(event ListenerEvent, err error)) (*Listener, error) {
	wait, timeout := max(opts.ConnectTimeout, 5*time.Second), opts.timeout()
	full, cfg, err := sessionConfig(dsn, opts.app())
	if err != nil {
		return nil, fmt.Errorf("parse listen DSN %w", err)
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	ln := &Listener{wake: make(chan struct{}, 1), done: make(chan struct{}),
		selfTest: "goquiz_selftest_" + hex.EncodeToString(nonce), heard: make(chan struct{}, 1)}
	var d pq.Dialer = dialer{timeout: timeout}
	if n := len(cfg.Multi) + 1; n > 1 {
		// The hosts share the wait for the first connection (see
		// listenDialer).
		d = &listenDialer{dialer: dialer{timeout: timeout}, hosts: n, share: hostShare(timeout, cfg.ConnectTimeout, wait, n),
			hungUntil: map[string]time.Time{}}
	}
	refused := make(chan error, 1) // a first attempt failed for good
	ln.l = pq.NewDialListener(d, full, 100*time.Millisecond, 2*time.Second, func(ev pq.ListenerEventType, err error) {
		if ev == pq.ListenerEventConnectionAttemptFailed && err != nil && !retryable(err) {
			select {
			case refused <- err:
			default:
			}
		}
		switch ev {
		case pq.ListenerEventConnected, pq.ListenerEventReconnected:
			ln.connected.Store(true)
		case pq.ListenerEventDisconnected:
			ln.connected.Store(false)
		}
		if err != nil {
			ln.lastErr.Store(&err)
		}
		if onEvent != nil {
			onEvent(listenerEvents[ev], err)
		}
	})
	// pq's Listen blocks until a connection is up, retrying for ever.
	listened := make(chan error, 1)
	go func() { listened <- ln.l.Listen(Channel) }()
	failed := func(err error) error {
		return fmt.Errorf("listen on %s at %s: %w%s", Channel, Redact(dsn), err, listenHint(err))
	}
	select {
	case err := <-listened:
		if err != nil {
			ln.l.Close()
			return nil, failed(err)
		}
	case err := <-refused:
		ln.l.Close()
		<-listened
		return nil, failed(err)
	case <-time.After(wait):
		ln.l.Close()
		<-listened
		cause := fmt.Errorf("no connection within %s", wait)
		hint := " — is the server running and is LISTEN_DSN (default: DSN) right?"
		if last := ln.lastErr.Load(); last != nil {
			cause = fmt.Errorf("no connection within %s: %w", wait, *last)
			if h := listenHint(*last); h != "" {
				hint = h
			}
		}
		return nil, fmt.Errorf("listen on %s at %s: %w%s", Channel, Redact(dsn), cause, hint)
	}
	ln.wg.Add(2)
	go ln.forward()
	go ln.ping(timeout / 2)
	return ln, nil
}

// listenHint is Hint for the listener's connection, whose settings are
// LISTEN_DSN's when it is set: the hint names it where Hint names DSN.
func listenHint(err error) string {
	return strings.ReplaceAll(Hint(err), "DSN", "LISTEN_DSN (default: DSN)")
}

// ping pings the listening connection every interval until Close. A ping
// that gets no answer within the timeout fails and closes the connection,
// which pq.Listener then replaces; while it reconnects, pings fail at once.
func (ln *Listener) ping(interval time.Duration) {
	defer ln.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ln.done:
			return
		case <-t.C:
			_ = ln.l.Ping()
		}
	}
}

// forward turns notifications (and the nil that marks a reconnect) into
// coalesced wake-ups, but for those of Hears, which it tells Hears of.
func (ln *Listener) forward() {
	defer ln.wg.Done()
	for {
		select {
		case <-ln.done:
			return
		case n, ok := <-ln.l.Notify:
			if !ok {
				return
			}
			to := ln.wake
			if n != nil && n.Channel == ln.selfTest {
				to = ln.heard
			}
			select {
			case to <- struct{}{}:
			default:
			}
		}
	}
}

// Hears tells whether notifications reach the listener: it listens on a
// channel of its own as well and notifies it through db, as a parser
// notifies through its DSN, every quarter of within until one comes back
// or within has passed. Behind a transaction-pooling proxy none comes
// back. It returns an error when it could not send one at all.
func (ln *Listener) Hears(ctx context.Context, db *DB, within time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	listened := make(chan error, 1)
	go func() { listened <- ln.l.Listen(ln.selfTest) }()
	select {
	case err := <-listened:
		if err != nil && !errors.Is(err, pq.ErrChannelAlreadyOpen) {
			return false, fmt.Errorf("listen on %s: %w", ln.selfTest, err)
		}
	case <-ctx.Done():
		return false, nil // no listening connection within the bound
	}
	var failed error // while no notification could be sent
	sent := false
	for {
		if _, err := db.db.ExecContext(ctx, `SELECT pg_notify($1, '')`, ln.selfTest); err == nil {
			sent, failed = true, nil
		} else if !sent {
			failed = fmt.Errorf("notify %s: %w", ln.selfTest, err)
		}
		select {
		case <-ln.heard:
			return true, nil
		case <-ctx.Done():
			return false, failed
		case <-time.After(within / 4):
		}
	}
}

// Wake returns the channel that receives a value after notifications or a
// reconnect. Several events between two receives are coalesced into one.
func (ln *Listener) Wake() <-chan struct{} { return ln.wake }

// Connected tells whether the listening connection is up.
func (ln *Listener) Connected() bool { return ln.connected.Load() }

// Close stops listening and frees the connection.
func (ln *Listener) Close() error {
	var err error
	ln.closeOnce.Do(func() {
		close(ln.done)
		err = ln.l.Close()
		ln.wg.Wait()
	})
	return err
}
