// Package faultproxy is a TCP proxy for fault tests. It forwards every
// connection to one target and can freeze the connections open through it
// at a chosen moment: both directions stop being forwarded while both
// sockets stay open, as with a hung proxy or a network that drops packets
// of established flows. The kernel still acknowledges what it receives
// until its buffers fill, so a peer sees no error: it just never gets an
// answer. Connections opened after a freeze pass again, unless told
// otherwise (see SetNew).
package faultproxy

import (
	"fmt"
	"net"
	"sync"
)

// Dir is the direction of the bytes a Rule looks at.
type Dir int

// The directions of a connection.
const (
	ToServer Dir = iota // from the client that connected to the proxy to the target
	ToClient            // from the target back to the client
)

// String names the direction, for messages.
func (d Dir) String() string {
	if d == ToServer {
		return "to server"
	}
	return "to client"
}

// Action is what a Rule decides for the bytes it saw.
type Action int

// What a Rule can decide.
const (
	// Pass forwards the bytes.
	Pass Action = iota
	// PassThenFreeze forwards the bytes, then freezes the connections.
	PassThenFreeze
	// HoldAndFreeze freezes the connections with these bytes not forwarded.
	HoldAndFreeze
)

// Rule looks at bytes read on connection conn (numbered from 1 in the
// order they were accepted) in direction dir, as read (one read of the
// socket: usually whole messages, as the sender wrote them), and says
// what to do. It is called from the forwarding goroutines, one at a time.
type Rule func(conn int, dir Dir, data []byte) Action

// NewMode is what happens to connections opened while it is in force.
type NewMode int

// The modes of new connections.
const (
	// NewPass forwards new connections (the default).
	NewPass NewMode = iota
	// NewRefuse closes new connections at once, as a host without a
	// listener would refuse them.
	NewRefuse
	// NewHang accepts new connections and never forwards a byte, as a
	// black-holed route would look once the handshake went through.
	NewHang
)

// Proxy is a running proxy.
type Proxy struct {
	ln     net.Listener
	target string

	ruleMu sync.Mutex // one Rule call at a time
	mu     sync.Mutex
	links  map[*link]struct{}
	seq    int
	rule   Rule
	mode   NewMode
	frozen int // connections frozen so far
	closed bool
	wg     sync.WaitGroup
}

// link is one proxied connection.
type link struct {
	n              int
	client, server net.Conn
	frozen         chan struct{} // closed when frozen
	freezeOnce     sync.Once
}

// Start listens on a free loopback port and forwards to target (host:port).
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Open returns how many connections are open through the proxy, frozen
// ones included.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Frozen returns how many connections were frozen so far.
func (p *Proxy) Frozen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}

// Freeze freezes every connection open now and returns how many it froze.
// Frozen connections stay open and silent until the proxy is closed.
func (p *Proxy) Freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freezeLocked()
}

func (p *Proxy) freezeLocked() int {
	n := 0
	for l := range p.links {
		l.freezeOnce.Do(func() {
			close(l.frozen)
			n++
		})
	}
	p.frozen += n
	p.rule = nil
	return n
}

// FreezeWhen arms rule: every chunk of bytes forwarded is shown to it
// until it decides to freeze, which freezes every open connection (not
// only the one it saw) and disarms it.
func (p *Proxy) FreezeWhen(rule Rule) {
	p.mu.Lock()
	p.rule = rule
	p.mu.Unlock()
}

// SetNew sets what happens to connections opened from now on.
func (p *Proxy) SetNew(m NewMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// Close stops listening and closes every connection, frozen or not.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for l := range p.links {
		l.close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode, closed := p.mode, p.closed
		p.mu.Unlock()
		switch {
		case closed || mode == NewRefuse:
			c.Close()
			continue
		case mode == NewHang:
			p.hang(c)
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			continue
		}
		p.seq++
		l := &link{n: p.seq, client: c, server: s, frozen: make(chan struct{})}
		p.links[l] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pump(l, ToServer, c, s)
		go p.pump(l, ToClient, s, c)
	}
}

// hang keeps c open, reading nothing, until the proxy closes.
func (p *Proxy) hang(c net.Conn) {
	l := &link{client: c, frozen: make(chan struct{})}
	l.freezeOnce.Do(func() { close(l.frozen) })
	p.mu.Lock()
	p.links[l] = struct{}{}
	p.mu.Unlock()
}

// pump forwards src to dst. Once the link is frozen it forwards nothing
// more and returns, leaving both sockets open (Close closes them); when
// either side ends, it closes both.
func (p *Proxy) pump(l *link, dir Dir, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			act := p.decide(l, dir, buf[:n])
			if act != Pass {
				// Before forwarding: no answer to these bytes may pass.
				p.Freeze()
			} else if l.isFrozen() {
				return // what was read stays here, never forwarded
			}
			if act != HoldAndFreeze {
				if _, werr := dst.Write(buf[:n]); werr != nil && act == Pass {
					p.end(l)
					return
				}
			}
			if act != Pass {
				return
			}
		}
		if err != nil {
			if !l.isFrozen() {
				p.end(l)
			}
			return
		}
	}
}

func (l *link) isFrozen() bool {
	select {
	case <-l.frozen:
		return true
	default:
		return false
	}
}

// decide asks the armed rule, if any, about data.
func (p *Proxy) decide(l *link, dir Dir, data []byte) Action {
	p.ruleMu.Lock()
	defer p.ruleMu.Unlock()
	p.mu.Lock()
	rule := p.rule
	p.mu.Unlock()
	if rule == nil || l.isFrozen() {
		return Pass
	}
	return rule(l.n, dir, data)
}

// end closes a link one side of which ended, and forgets it.
func (p *Proxy) end(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.close()
}

func (l *link) close() {
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}
