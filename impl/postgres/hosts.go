package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/lib/pq"
)

// How a DSN that lists several hosts is connected (failover).
//
// lib/pq tries the hosts in turn under one context, and each host may
// take all of it: a host that hangs (its packets black-holed: the TCP
// connect or the startup never answered) holds every new connection for
// DB_TIMEOUT, and the hosts after it get nothing left. So, as libpq does
// with connect_timeout, goquiz tries the hosts itself, one lib/pq
// connector each, and bounds each host by its share of the connection's
// time: min(DB_TIMEOUT, the DSN's connect_timeout, what is left of the
// connection's time divided among the hosts not tried yet), at least
// minShare. The connection's time is DB_TIMEOUT, cut short by the
// context's deadline or, in Open, by CONNECT_TIMEOUT (connectBy). A host
// that used up its share is tried after the others for hungFor: the next
// connections go to the hosts that answer first.

// minShare is the least time a host is given, as libpq's connect_timeout
// is at least 2s: a server under load may take a moment to answer.
const minShare = 2 * time.Second

// hungFor is how long a host found hanging is tried after the others.
const hungFor = time.Minute

// hostList opens connections to the first of several hosts that fits.
type hostList struct {
	hosts []host
	// random shuffles the hosts at every connection
	// (load_balance_hosts=random).
	random bool
	// timeout is DB_TIMEOUT; connectTimeout the DSN's connect_timeout,
	// zero if none.
	timeout, connectTimeout time.Duration

	mu        sync.Mutex
	hungUntil []time.Time // by host, when it is tried in order again
}

// host is one host of the DSN, with its connectors.
type host struct {
	name string // host:port
	// pq connects with the DSN's target_session_attrs; orAny, for
	// prefer-standby, connects to any server, in a second round over the
	// hosts when none is a standby.
	pq, orAny *pq.Connector
}

// newHostList returns the hosts of cfg, each connected through d with
// cfg's settings, or nil when cfg names one host.
func newHostList(cfg pq.Config, d pq.Dialer, timeout time.Duration) (*hostList, error) {
	if len(cfg.Multi) == 0 {
		return nil, nil
	}
	l := &hostList{random: cfg.LoadBalanceHosts == pq.LoadBalanceHostsRandom,
		timeout: timeout, connectTimeout: cfg.ConnectTimeout}
	addrs := append([]pq.ConfigMultihost{{Host: cfg.Host, Hostaddr: cfg.Hostaddr, Port: cfg.Port}}, cfg.Multi...)
	for _, a := range addrs {
		hc := cfg.Clone()
		hc.Host, hc.Hostaddr, hc.Port, hc.Multi = a.Host, a.Hostaddr, a.Port, nil
		hc.LoadBalanceHosts = pq.LoadBalanceHostsDisable
		name := a.Host
		if name == "" {
			name = a.Hostaddr.String()
		}
		h := host{name: fmt.Sprintf("%s:%d", name, a.Port)}
		var err error
		if cfg.TargetSessionAttrs == pq.TargetSessionAttrsPreferStandby {
			hc.TargetSessionAttrs = pq.TargetSessionAttrsAny
			if h.orAny, err = pq.NewConnectorConfig(hc); err != nil {
				return nil, err
			}
			h.orAny.Dialer(d)
			hc.TargetSessionAttrs = pq.TargetSessionAttrsStandby
		}
		if h.pq, err = pq.NewConnectorConfig(hc); err != nil {
			return nil, err
		}
		h.pq.Dialer(d)
		l.hosts = append(l.hosts, h)
	}
	l.hungUntil = make([]time.Time, len(l.hosts))
	return l, nil
}

// connectByKey carries, in the context of a Connect, a deadline for the
// connection's time that does not end the context (see Open).
type connectByKey struct{}

// withConnectBy returns ctx telling the hosts of a DSN to share the time
// until deadline (at most DB_TIMEOUT), without ending ctx then.
func withConnectBy(ctx context.Context, deadline time.Time) context.Context {
	return context.WithValue(ctx, connectByKey{}, deadline)
}

// hostHung is the error of a host that did not connect within its share.
type hostHung struct{ share time.Duration }

func (e hostHung) Error() string {
	return fmt.Sprintf("no connection within %s, this host's share of the time; tried after the other hosts for %s", e.share, hungFor)
}

// Timeout reports true: a net.Error that timed out.
func (e hostHung) Timeout() bool { return true }

// Temporary reports true: another try may find the host answering.
func (e hostHung) Temporary() bool { return true }

// connect opens a connection to the first host that fits, in order, the
// hosts found hanging last.
func (l *hostList) connect(ctx context.Context) (*conn, error) {
	end := time.Now().Add(l.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(end) {
		end = dl
	}
	if dl, ok := ctx.Value(connectByKey{}).(time.Time); ok && dl.Before(end) {
		end = dl
	}
	order := l.order()
	var errs []error
	for round := range 2 {
		for i, k := range order {
			pc := l.hosts[k].pq
			if round == 1 {
				pc = l.hosts[k].orAny
			}
			share := hostShare(l.timeout, l.connectTimeout, time.Until(end), len(order)-i)
			hctx, cancel := context.WithTimeout(ctx, share)
			c, err := connectOn(hctx, pc)
			cancel()
			if ctx.Err() != nil && err != nil {
				return nil, fmt.Errorf("connecting to %s: %w", l.hosts[k].name, ctx.Err())
			}
			l.mark(k, err == nil || hctx.Err() == nil)
			if err == nil {
				return c, nil
			}
			if hctx.Err() != nil {
				err = hostHung{share}
			}
			errs = append(errs, fmt.Errorf("connecting to %s: %w", l.hosts[k].name, err))
		}
		if l.hosts[0].orAny == nil {
			break
		}
	}
	return nil, fmt.Errorf("could not connect to any of the hosts:\n%w", errors.Join(errs...))
}

// hostShare returns the time a host gets when left is what remains of the
// connection's time and n hosts are still to be tried, under DB_TIMEOUT
// (timeout) and the DSN's connect_timeout (zero: none).
func hostShare(timeout, connectTimeout, left time.Duration, n int) time.Duration {
	s := min(timeout, max(left/time.Duration(n), minShare))
	if connectTimeout > 0 {
		s = min(s, connectTimeout)
	}
	return s
}

// order returns the indexes of the hosts in the order to try them: the
// DSN's (or shuffled), the hosts found hanging lately last.
func (l *hostList) order() []int {
	order := make([]int, len(l.hosts))
	for i := range order {
		order[i] = i
	}
	if l.random {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var first, last []int
	for _, k := range order {
		if now.Before(l.hungUntil[k]) {
			last = append(last, k)
		} else {
			first = append(first, k)
		}
	}
	return append(first, last...)
}

// mark remembers whether host k answered (ok) or hung.
func (l *hostList) mark(k int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		l.hungUntil[k] = time.Time{}
	} else {
		l.hungUntil[k] = time.Now().Add(hungFor)
	}
}

// listenDialer opens the listening connection of a DSN that lists several
// hosts. lib/pq's Listener tries the hosts itself, through this dialer
// only: each dial, and the first answer on it, is bounded by share, and
// an address found hanging is skipped for hungFor while the DSN has other
// hosts not found hanging (the redial of sslmode=prefer included).
type listenDialer struct {
	dialer
	hosts int
	share time.Duration

	mu        sync.Mutex
	hungUntil map[string]time.Time // by address
}

// DialContext connects to address, or fails at once if it hung lately.
func (d *listenDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.skip(address) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: hostHung{d.share}}
	}
	dctx, cancel := context.WithTimeout(ctx, d.share)
	defer cancel()
	c, err := d.dialer.DialContext(dctx, network, address)
	if err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			d.mark(address)
		}
		return nil, err
	}
	tc := c.(*timeoutConn)
	tc.first, tc.hung = d.share, func() { d.mark(address) }
	return tc, nil
}

// Dial connects to address (lib/pq's Listener dials without a context).
func (d *listenDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout connects to address within timeout at most.
func (d *listenDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d *listenDialer) mark(address string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hungUntil[address] = time.Now().Add(hungFor)
}

// skip tells whether address hung lately while another host did not.
func (d *listenDialer) skip(address string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now, hung := time.Now(), 0
	for a, until := range d.hungUntil {
		if now.Before(until) {
			hung++
		} else {
			delete(d.hungUntil, a)
		}
	}
	_, ok := d.hungUntil[address]
	return ok && hung < d.hosts
}
