package postgres

import (
	"context"
	"net"
	"time"
)

// dialer opens the connections lib/pq uses, each a timeoutConn bounded by
// timeout (see netconn.go). It implements pq.Dialer and pq.DialerContext.
//
// The kernel is told to give up on a peer that stops acknowledging within
// about timeout too: TCP keepalive probes start after half of it while the
// connection is idle (a lost peer is noticed even when nothing is sent) and
// TCP_USER_TIMEOUT drops a connection whose sent data stays unacknowledged
// for timeout. Neither catches a peer that acknowledges but never answers;
// the deadlines of timeoutConn do.
type dialer struct {
	timeout time.Duration
	// opened, if not nil, is told of every connection opened (tests).
	opened func(*timeoutConn)
}

// keepalive returns the TCP keepalive settings for a timeout: the first
// probe after half of it idle, then four probes an eighth apart, so that
// a silent peer is dropped after about the timeout.
func keepalive(timeout time.Duration) net.KeepAliveConfig {
	return net.KeepAliveConfig{
		Enable:   true,
		Idle:     max(timeout/2, time.Second),
		Interval: max(timeout/8, time.Second),
		Count:    4,
	}
}

// DialContext connects to address within the timeout.
func (d dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := net.Dialer{
		Timeout:         d.timeout,
		KeepAliveConfig: keepalive(d.timeout),
		Control:         userTimeout(d.timeout),
	}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tc := newTimeoutConn(c, d.timeout)
	if d.opened != nil {
		d.opened(tc)
	}
	return tc, nil
}

// Dial connects to address within the timeout.
func (d dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout connects to address within the shorter of timeout and the
// dialer's own.
func (d dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}
