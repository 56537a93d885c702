package crm

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// newProxy starts an HTTP proxy that sends every request to target,
// whatever host it names: a CONNECT through a tunnel, any other request
// (the absolute form sent for http:// URLs) forwarded. It counts both.
func newProxy(t *testing.T, target string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var proxied atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			forward(w, r, target, &proxied)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		proxied.Add(1)
		w.WriteHeader(http.StatusOK)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, buf); _ = up.Close() }()
		_, _ = io.Copy(conn, up)
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv, &proxied
}

// forward sends r, a request in absolute form, to target and copies the
// answer back.
func forward(w http.ResponseWriter, r *http.Request, target string, proxied *atomic.Int64) {
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	proxied.Add(1)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func TestPublishThroughProxyFromEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		tls      bool
		variable string
	}{
		{name: "http endpoint, request forwarded", variable: "HTTP_PROXY"},
		{name: "https endpoint, CONNECT tunnel", tls: true, variable: "HTTPS_PROXY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crmSrv, seen := newCaptureServer(t)
			scheme := "http"
			if tt.tls {
				crmSrv, seen = newCaptureTLSServer(t)
				scheme = "https"
			}
			proxy, proxied := newProxy(t, crmSrv.Listener.Addr().String())
			for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
				t.Setenv(v, "")
				t.Setenv(strings.ToLower(v), "")
			}
			t.Setenv(tt.variable, proxy.URL)

			// A name only the proxy resolves: localhost is never proxied.
			c := newClient(t, scheme+"://crm.invalid/customers", Options{Timeout: 5 * time.Second})
			if tt.tls {
				c.tr.TLSClientConfig = crmSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
				c.tr.TLSClientConfig.ServerName = "example.com" // in the test certificate
			}
			require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 9})))
			got := <-seen
			assert.Equal(t, "/customers", got.path)
			assert.Equal(t, []string{common.IdempotencyKey(9)}, got.header.Values("Idempotency-Key"))
			assert.Equal(t, int64(1), proxied.Load())
		})
	}
}

// TestPublishNotProxiedWhenNoProxySaysSo names the endpoint's host in
// NO_PROXY: the proxy is not used, and the name, which only the proxy
// would resolve, fails as a connection error.
func TestPublishNotProxiedWhenNoProxySaysSo(t *testing.T) {
	proxy, proxied := newProxy(t, "127.0.0.1:1")
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
		t.Setenv(v, "")
		t.Setenv(strings.ToLower(v), "")
	}
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "crm.invalid")
	c := newClient(t, "http://crm.invalid/customers", Options{Timeout: 5 * time.Second})
	err := errOf(c.Publish(context.Background(), common.Customer{ID: 9}))
	assert.Equal(t, "connection", publishError(t, err).Reason())
	assert.Zero(t, proxied.Load())
}

func TestNewRejectsUnknownProxyScheme(t *testing.T) {
	t.Setenv("HTTP_PROXY", "ftp://proxy.invalid:21")
	t.Setenv("http_proxy", "ftp://proxy.invalid:21")
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	_, err := New("http://crm.invalid/customers", Options{Timeout: time.Second})
	require.ErrorContains(t, err, "proxy")
}

// TestPublishOverHTTP2 publishes from many publishers at once to a CRM
// offering HTTP/2 over TLS: the requests are the same, over one
// connection.
func TestPublishOverHTTP2(t *testing.T) {
	var (
		mu     sync.Mutex
		protos = map[string]int{}
		conns  atomic.Int64
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		protos[r.Proto]++
		mu.Unlock()
		if r.Header.Get("Idempotency-Key") == "" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("User-Agent") != userAgent || r.Header.Get("Authorization") != "Bearer tok" || len(body) == 0 {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	c := newClient(t, srv.URL+"/customers", Options{Token: "tok", Timeout: 5 * time.Second, MaxConns: 8})
	c.tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()

	require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 1})))
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				errs <- errOf(c.Publish(context.Background(), common.Customer{ID: int64(w*10 + i + 2)}))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]int{"HTTP/2.0": 81}, protos)
	assert.Equal(t, int64(1), conns.Load())
}

// freezingProxy forwards TCP connections to a target until frozen: then
// the connections open at that moment carry nothing more, in either
// direction, while new ones work, as when a NAT or a firewall drops a
// connection's state without a reset.
type freezingProxy struct {
	ln   net.Listener
	done chan struct{} // closed when the test ends

	mu       sync.Mutex
	conns    []net.Conn
	frozen   []*atomic.Bool // of each connection accepted
	accepted int
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezingProxy{ln: ln, done: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(p.done)
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = down.Close()
				continue
			}
			frozen := new(atomic.Bool)
			p.mu.Lock()
			p.conns = append(p.conns, down, up)
			p.frozen = append(p.frozen, frozen)
			p.accepted++
			p.mu.Unlock()
			wg.Go(func() { p.pipe(up, down, frozen) })
			wg.Go(func() { p.pipe(down, up, frozen) })
		}
	})
	return p
}

// pipe copies src to dst until either fails, or until frozen: then it
// drops what it read, and holds both open until the test ends.
func (p *freezingProxy) pipe(dst, src net.Conn, frozen *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if frozen.Load() {
			<-p.done
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

// freeze freezes every connection open now.
func (p *freezingProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		f.Store(true)
	}
}

// connections returns the number of connections accepted.
func (p *freezingProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// TestPublishAfterHTTP2ConnectionFroze covers an HTTP/2 connection that
// stops carrying anything, without being closed: it carries every
// publisher's requests, so the client must find it dead and open another
// one, not send into it until TCP gives up.
func TestPublishAfterHTTP2ConnectionFroze(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	proxy := newFreezingProxy(t, srv.Listener.Addr().String())
	const timeout = time.Second
	c := newClient(t, "https://"+proxy.ln.Addr().String()+"/customers", Options{Timeout: timeout})
	c.tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 1})))
	require.Equal(t, 1, proxy.connections())

	proxy.freeze()
	var (
		failed int
		err    error
	)
	for id := int64(2); failed < 10; id++ {
		if err = errOf(c.Publish(context.Background(), common.Customer{ID: id})); err == nil {
			break
		}
		// Timed out, or lost with the connection the client closed.
		assert.Contains(t, []string{"timeout", "connection"}, publishError(t, err).Reason())
		failed++
	}
	require.NoError(t, err, "still failing after %d attempts of %v", failed, timeout)
	assert.Equal(t, 2, proxy.connections())
	t.Logf("%d attempts failed before a new connection", failed)
}
