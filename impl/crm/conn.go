package crm

import (
	"errors"
	"net"
	"time"
)

// idleCheck is how long a connection must have sat idle before the next
// request on it first checks that the CRM has not closed it.
const idleCheck = 100 * time.Millisecond

// errClosedIdle reports a pooled connection the CRM closed, or wrote to
// unasked, while it sat idle. Nothing of the request was sent on it.
var errClosedIdle = errors.New("crm: connection closed by the CRM while idle")

// checkedConn is a connection to the CRM that, before the first write
// after a pause, checks that the CRM has not closed it. net/http notices
// such connections by reading from every idle connection; fasthttp does
// not, and would send the next request into a closed connection and report
// it failed. A connection is used by one request at a time.
type checkedConn struct {
	net.Conn
	lastUsed time.Time
}

// Write writes b, unless the connection sat idle for idleCheck and the
// CRM closed it meanwhile: then it writes nothing and returns
// errClosedIdle.
func (c *checkedConn) Write(b []byte) (int, error) {
	if time.Since(c.lastUsed) >= idleCheck && peerClosed(c.Conn) {
		return 0, errClosedIdle
	}
	n, err := c.Conn.Write(b)
	c.lastUsed = time.Now()
	return n, err
}

// Read reads into b.
func (c *checkedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.lastUsed = time.Now()
	return n, err
}
