package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/lib/pq"
)

// What goquiz's connections send at their start, and what they do not.
//
// A connection sends its application_name (which names the sessions in
// pg_stat_activity) and no other server setting: a transaction-pooling
// proxy (PgBouncer, pgcat, Supavisor, RDS Proxy) hands a server connection
// to one client per transaction, so a setting made for a session would
// apply to whichever client gets it next, and PgBouncer refuses a
// connection whose startup packet carries a parameter it does not track
// ("unsupported startup parameter"). So:
//
//   - DB_TIMEOUT is enforced by the client alone: every round trip is
//     bounded by the deadline of its socket (see netconn.go), and the
//     kernel drops a peer that stops acknowledging (see dial.go).
//   - A transaction that spans round trips tells the server, with SET
//     LOCAL, to end its session when it stays idle in the transaction for
//     the timeout, and bounds its statements by it (see DB.begin): a lost
//     client's locks go within about the timeout, whoever it shared a
//     pooled connection with. Claims and settles are single statements
//     that hold nothing once they answer (see queue.go).
//   - Queries with parameters are sent as one message (lib/pq's
//     binary_parameters): parsed, bound and run in one round trip, with
//     no prepared statement to outlive it. lib/pq otherwise parses and
//     describes in one round trip and binds in the next; a pooler may
//     run them on two different server connections, and the second then
//     fails with "unnamed prepared statement does not exist".
//
// A COPY waiting for data from a lost client is beyond every server
// timeout (PostgreSQL does not interrupt it): reap.go ends those.

// connector opens goquiz's connections: lib/pq's, through the bounded
// dialer, each wrapped so that the store can reach its socket (to let the
// answer of a long statement outlast the bound, see longtx.go). A DSN
// that lists several hosts is connected host by host (see hosts.go).
type connector struct {
	pq    *pq.Connector
	hosts *hostList // nil with one host
}

// slotKey carries, in the context of a Connect, where the dialer leaves
// the socket it opened.
type slotKey struct{}

// newConnector returns the connector of cfg, dialing through d.
func newConnector(cfg pq.Config, d dialer) (*connector, error) {
	pc, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	pc.Dialer(slotDialer{d})
	hosts, err := newHostList(cfg, slotDialer{d}, d.timeout)
	if err != nil {
		return nil, err
	}
	return &connector{pq: pc, hosts: hosts}, nil
}

// slotDialer is a dialer that also leaves the socket it opened in the
// slot of its context, if any.
type slotDialer struct{ dialer }

func (d slotDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if slot, ok := ctx.Value(slotKey{}).(*atomic.Pointer[timeoutConn]); ok {
		slot.Store(c.(*timeoutConn))
	}
	return c, nil
}

// Connect opens a connection: to the DSN's host, or to the first of its
// hosts that fits (see hosts.go).
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.hosts != nil {
		return c.hosts.connect(ctx)
	}
	return connectOn(ctx, c.pq)
}

// connectOn opens a connection with pc. lib/pq heeds ctx while it dials
// only; until the connection is ready (TLS, authentication,
// target_session_attrs), the end of ctx closes its socket. The slot ends
// with the socket of the last dial (lib/pq dials a host again without
// TLS under sslmode=prefer), the one it kept.
func connectOn(ctx context.Context, pc *pq.Connector) (*conn, error) {
	var slot atomic.Pointer[timeoutConn]
	stop := context.AfterFunc(ctx, func() {
		if nc := slot.Load(); nc != nil {
			nc.Close()
		}
	})
	dc, err := pc.Connect(context.WithValue(ctx, slotKey{}, &slot))
	if !stop() && err == nil {
		dc.Close()
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	nc := slot.Load()
	c, ok := dc.(pqConn)
	if !ok || nc == nil {
		dc.Close()
		return nil, errors.New("postgres: unexpected driver connection")
	}
	return &conn{pqConn: c, nc: nc}, nil
}

// Driver returns lib/pq's driver.
func (c *connector) Driver() driver.Driver { return c.pq.Driver() }

// pqConn is what lib/pq's connections implement; conn forwards all of it,
// so that database/sql uses them exactly as it would unwrapped.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// conn is a lib/pq connection with its socket.
type conn struct {
	pqConn
	nc *timeoutConn
}

// socket returns the socket of a connection database/sql hands to Raw.
func socket(dc any) (*timeoutConn, error) {
	c, ok := dc.(*conn)
	if !ok {
		return nil, fmt.Errorf("postgres: driver connection %T is not the store's", dc)
	}
	return c.nc, nil
}
