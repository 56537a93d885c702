package postgres

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// How a round trip is bounded (DB_TIMEOUT).
//
// lib/pq has no read timeout, and a cancelled context does not help against
// a connection that stopped answering: lib/pq's cancel request goes out on
// a new connection and then still waits for the old one. TCP keepalive and
// TCP_USER_TIMEOUT (set by the dialer, see dial.go) make the kernel give up
// on a peer that stopped acknowledging, but a peer that acknowledges and
// never answers (a hung proxy, a frozen PgBouncer, a NAT that keeps the
// flow but drops its packets onward) keeps a read blocked for ever. So the
// connection itself enforces the bound: every net.Conn lib/pq uses comes
// from our dialer and is a timeoutConn, which arms a deadline when a
// request is written and again whenever bytes of the answer arrive. A
// round trip that gets no byte for the timeout fails, and the socket is
// closed at once. lib/pq reports the failure as the *net.OpError it is,
// which it treats as a broken connection (it marks it bad; database/sql
// then discards it and opens a new one), and the caller sees an ordinary
// connection error, as after a server restart. lib/pq reads only when it
// waits for an answer, so the deadline never fires on an idle connection
// (the listener's reader, always blocked in a read, is kept alive by its
// pings: see listen.go).
//
// Setting a deadline is a timer update inside the Go runtime, no system
// call; the cost is measured with the delivery and ingest benchmarks.
//
// A few statements may rightly run longer than the timeout (see
// longtx.go): while one runs, a watchdog that sees the server at work on it
// (checking from another connection) keeps pushing the deadline of its
// answer further out (Extend). When the server is done, or cannot say,
// the pushes stop and the answer must come within the bound, as for any
// round trip.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
	// first, if not zero, bounds the first answer instead of timeout: a
	// host of a listening connection's DSN gets its share of the time to
	// start answering (see listenDialer); hung, if not nil, is told when
	// it did not.
	first    time.Duration
	hung     func()
	answered atomic.Bool
}

// noAnswer is the error of a round trip that got no answer in time.
type noAnswer struct{ timeout time.Duration }

func (e noAnswer) Error() string {
	return fmt.Sprintf("no answer from PostgreSQL within DB_TIMEOUT (%s); connection closed", e.timeout)
}

// Timeout reports true: a net.Error that timed out.
func (e noAnswer) Timeout() bool { return true }

// Temporary reports false: the connection is closed for good.
func (e noAnswer) Temporary() bool { return false }

// Unwrap makes errors.Is(err, os.ErrDeadlineExceeded) hold.
func (e noAnswer) Unwrap() error { return os.ErrDeadlineExceeded }

func newTimeoutConn(c net.Conn, timeout time.Duration) *timeoutConn {
	return &timeoutConn{Conn: c, timeout: timeout}
}

// Write arms the deadline of the answer, and bounds the write itself: a
// peer that stopped reading makes it block once the buffers are full.
func (c *timeoutConn) Write(b []byte) (int, error) {
	d := c.timeout
	if c.first > 0 && !c.answered.Load() {
		d = c.first
	}
	if err := c.Conn.SetDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	return n, c.check("write", err)
}

// Read fails once no byte came for the timeout since the request was
// written or the last bytes arrived; every byte re-arms it.
func (c *timeoutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.first > 0 && !c.answered.Load() {
		c.answered.Store(true)
	}
	if n > 0 && err == nil {
		err = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return n, c.check("read", err)
}

// check closes the socket when a deadline fired and names the cause.
func (c *timeoutConn) check(op string, err error) error {
	if err == nil {
		return nil
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.Conn.Close()
		var cause error = noAnswer{c.timeout}
		if c.first > 0 && !c.answered.Load() {
			cause = hostHung{c.first}
			if c.hung != nil {
				c.hung()
			}
		}
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: cause}
	}
	return err
}

// Extend lets the answer awaited now come up to d from now. The next
// request written, or bytes of the answer read, bound it by the timeout
// again.
func (c *timeoutConn) Extend(d time.Duration) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
}
