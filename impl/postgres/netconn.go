package postgres

import (
	"fmt"
	"net"
	"os"
	"sync"
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
// long.go). While such a statement runs, the connection is "exempt": its
// writes still must progress within the timeout, but the wait for the
// answer is unbounded until a watchdog, checking the session from another
// connection, arms the deadline (the server is done, or cannot say).
type timeoutConn struct {
	net.Conn
	timeout time.Duration

	exempt atomic.Bool
	mu     sync.Mutex // guards seq and armed, used only while exempt
	seq    uint64     // requests written while exempt
	armed  bool       // the watchdog armed the read deadline
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
	if c.exempt.Load() {
		c.mu.Lock()
		c.seq++
		c.armed = false
		err := c.Conn.SetReadDeadline(time.Time{})
		if err == nil {
			err = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
		}
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
	} else if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	return n, c.check("write", err)
}

// Read fails once no byte came for the timeout since the request was
// written or the last bytes arrived; every byte re-arms it.
func (c *timeoutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && err == nil {
		if !c.exempt.Load() {
			err = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		} else {
			c.mu.Lock()
			if c.armed {
				err = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
			}
			c.mu.Unlock()
		}
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
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: noAnswer{c.timeout}}
	}
	return err
}

// SetExempt lifts (true) or restores (false) the bound on the wait for
// answers; while lifted, only the watchdog arms it (see Arm).
func (c *timeoutConn) SetExempt(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exempt.Store(on)
	c.armed = false
	c.seq++
	_ = c.Conn.SetReadDeadline(time.Time{})
}

// Seq returns a token for Arm and Disarm: the requests written so far
// while exempt.
func (c *timeoutConn) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// Arm bounds the wait for the current answer of an exempt connection by
// the timeout from now, unless a new request was written since seq was
// taken (its answer is not awaited yet).
func (c *timeoutConn) Arm(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.exempt.Load() || c.seq != seq || c.armed {
		return
	}
	c.armed = true
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
}

// Disarm lifts the bound that Arm set, if no request was written since
// seq was taken: the server showed it is still working on the request.
func (c *timeoutConn) Disarm(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.exempt.Load() || c.seq != seq || !c.armed {
		return
	}
	c.armed = false
	_ = c.Conn.SetReadDeadline(time.Time{})
}
