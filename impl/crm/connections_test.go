package crm

import (
	"bytes"
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

func TestPublishReusesConnections(t *testing.T) {
	const (
		publishers = 8
		requests   = 1000
	)
	var newConns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, Options{Timeout: 10 * time.Second, MaxConns: publishers})

	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for range publishers {
		wg.Go(func() {
			for {
				id := next.Add(1)
				if id > requests {
					return
				}
				if err := errOf(c.Publish(context.Background(), common.Customer{ID: id, FirstName: "x"})); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()

	assert.Zero(t, failed.Load())
	// At most publishers are open at once; a few more may be opened in
	// all on a loaded machine, as net/http closes a connection whose
	// request's write it has not seen end within 50 ms
	// (maxWriteWaitBeforeConnReuse): 9-11 in 6 runs of 15 under -race
	// beside other CPU-bound jobs. Without reuse there would be one per
	// request.
	assert.LessOrEqual(t, newConns.Load(), int64(2*publishers), "connections were not reused")
	t.Logf("%d requests over %d connections", requests, newConns.Load())
}

func TestPublishLongAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		headerLen  int    // of a Set-Cookie header
		bodyLen    int    // -1: a body that never ends
		wantReason string // "" when delivered
		wantStatus int
	}{
		{name: "200 with a long body is a delivery", status: http.StatusOK, bodyLen: 4 * maxBody},
		{name: "200 with an endless body is a delivery, at once", status: http.StatusOK, bodyLen: -1},
		{name: "500 with a long body is a failure", status: http.StatusInternalServerError, bodyLen: 4 * maxBody,
			wantReason: "status 500", wantStatus: http.StatusInternalServerError},
		{name: "16 KiB of header is read", status: http.StatusOK, headerLen: 16 << 10},
		{name: "a header longer than the limit fails", status: http.StatusOK, headerLen: 2 * maxHeader,
			wantReason: "connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if tt.headerLen > 0 {
					w.Header().Set("Set-Cookie", "session="+strings.Repeat("c", tt.headerLen))
				}
				w.WriteHeader(tt.status)
				if tt.bodyLen >= 0 {
					_, _ = w.Write(bytes.Repeat([]byte("x"), tt.bodyLen))
					return
				}
				chunk := bytes.Repeat([]byte("x"), 32<<10)
				for r.Context().Err() == nil {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			// One connection: after a long answer the next request finds
			// it usable, or a new one.
			const timeout = 5 * time.Second
			c := newClient(t, srv.URL, Options{Timeout: timeout, MaxConns: 1})
			for id := range int64(3) {
				start := time.Now()
				err := errOf(c.Publish(context.Background(), common.Customer{ID: id + 1}))
				// Only maxBody of the body is read: no answer holds the
				// publisher until its timeout.
				assert.Less(t, time.Since(start), timeout/2)
				if tt.wantReason == "" {
					require.NoError(t, err)
					continue
				}
				pe := publishError(t, err)
				assert.Equal(t, tt.wantReason, pe.Reason())
				assert.Equal(t, tt.wantStatus, pe.Status)
			}
		})
	}
}

// TestPublishAfterCRMClosedIdleConnections covers a CRM that closes
// keep-alive connections after a short idle time: the next request must
// not fail on a connection closed in the pool, nor be sent twice.
func TestPublishAfterCRMClosedIdleConnections(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, Options{Timeout: 5 * time.Second, MaxConns: 4})

	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			wg.Go(func() { errs <- errOf(c.Publish(context.Background(), common.Customer{ID: int64(round*4 + i + 1)})) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "round %d", round)
		}
		time.Sleep(200 * time.Millisecond) // the CRM closes the idle connections
	}
	assert.Equal(t, int64(12), requests.Load())
}

// TestPublishOverTLS publishes to an https endpoint, also after the CRM
// closed the idle connection under the TLS session.
func TestPublishOverTLS(t *testing.T) {
	srv, seen := newCaptureTLSServer(t)
	c := newClient(t, srv.URL+"/customers", Options{Token: "tok", Timeout: 5 * time.Second})
	c.tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()

	for id := range int64(2) {
		require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: id + 1})))
		got := <-seen
		assert.Equal(t, "/customers", got.path)
		assert.Equal(t, []string{"Bearer tok"}, got.header.Values("Authorization"))
		time.Sleep(200 * time.Millisecond) // the CRM closes the idle connection
	}
}

// newCaptureTLSServer is newCaptureServer over TLS, closing connections
// idle for 50 ms.
func newCaptureTLSServer(t *testing.T) (*httptest.Server, <-chan capturedRequest) {
	t.Helper()
	ch := make(chan capturedRequest, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- capturedRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body}
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestPublishWaitingForAConnectionTimesOut covers more publishers than
// connections: one that finds none free within the timeout failed for
// lack of time, like any request that ran out of it.
func TestPublishWaitingForAConnectionTimesOut(t *testing.T) {
	srv := newHangingServer(t)
	c := newClient(t, srv.URL, Options{Timeout: 200 * time.Millisecond, MaxConns: 1})

	errs := make(chan error, 2)
	for id := range int64(2) {
		go func() { errs <- errOf(c.Publish(context.Background(), common.Customer{ID: id + 1})) }()
	}
	for range 2 {
		pe := publishError(t, <-errs)
		assert.Equal(t, "timeout", pe.Reason(), pe.Error())
	}
}
