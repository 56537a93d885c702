package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// capturedRequest is what the test server saw of one request.
type capturedRequest struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// newCaptureServer starts a server answering 200 that hands every request
// it sees to the returned channel.
func newCaptureServer(t *testing.T) (*httptest.Server, <-chan capturedRequest) {
	t.Helper()
	ch := make(chan capturedRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ch <- capturedRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// newClient returns a client for endpoint, failing the test on error.
func newClient(t *testing.T, endpoint string, opts Options) *Client {
	t.Helper()
	c, err := New(endpoint, opts)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// newHangingServer starts a server that answers no request until the
// test ends.
func newHangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

// publishError returns err as a *common.PublishError, failing the test
// when it is not one.
func publishError(t *testing.T, err error) *common.PublishError {
	t.Helper()
	var pe *common.PublishError
	require.ErrorAs(t, err, &pe)
	return pe
}

func TestPublishWireFormat(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		customer common.Customer
		wantBody string
		wantMap  map[string]any
		wantKey  string // "": the first version's key
	}{
		{
			name:     "plain with token",
			token:    "s3cret",
			customer: common.Customer{ID: 42, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44 20 1234"},
			wantBody: `{"id":42,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 1234"}`,
			wantMap:  map[string]any{"id": json.Number("42"), "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+44 20 1234"},
		},
		{
			name:     "quotes unicode and control chars without token",
			customer: common.Customer{ID: 7, FirstName: `Zoë "Z"`, LastName: "O\\Brien\t", Email: "东京@例え.jp", Phone: "\x01\n"},
			wantBody: `{"id":7,"first_name":"Zoë \"Z\"","last_name":"O\\Brien\t","email":"东京@例え.jp","phone":"\u0001\n"}`,
			wantMap:  map[string]any{"id": json.Number("7"), "first_name": `Zoë "Z"`, "last_name": "O\\Brien\t", "email": "东京@例え.jp", "phone": "\x01\n"},
		},
		{
			name:     "empty strings and max id",
			customer: common.Customer{ID: math.MaxInt64},
			wantBody: `{"id":9223372036854775807,"first_name":"","last_name":"","email":"","phone":""}`,
			wantMap:  map[string]any{"id": json.Number("9223372036854775807"), "first_name": "", "last_name": "", "email": "", "phone": ""},
		},
		{
			name:     "a later version: its own key, the same body",
			customer: common.Customer{ID: 42, FirstName: "Ada", Version: 2},
			wantBody: `{"id":42,"first_name":"Ada","last_name":"","email":"","phone":""}`,
			wantMap:  map[string]any{"id": json.Number("42"), "first_name": "Ada", "last_name": "", "email": "", "phone": ""},
			wantKey:  "goquiz-customer-42-v2",
		},
		{
			name:     "invalid utf-8",
			customer: common.Customer{ID: 3, FirstName: "a\xffb"},
			wantBody: `{"id":3,"first_name":"a\ufffdb","last_name":"","email":"","phone":""}`,
			wantMap:  map[string]any{"id": json.Number("3"), "first_name": "a\ufffdb", "last_name": "", "email": "", "phone": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := newCaptureServer(t)
			c := newClient(t, srv.URL+"/customers", Options{Token: tt.token, Timeout: 5 * time.Second})

			require.NoError(t, errOf(c.Publish(context.Background(), tt.customer)))
			got := <-seen

			assert.Equal(t, http.MethodPost, got.method)
			assert.Equal(t, "/customers", got.path)
			assert.Equal(t, tt.wantBody, string(got.body))

			dec := json.NewDecoder(bytes.NewReader(got.body))
			dec.UseNumber()
			var m map[string]any
			require.NoError(t, dec.Decode(&m))
			assert.Equal(t, tt.wantMap, m)

			assert.Equal(t, []string{"application/json"}, got.header.Values("Content-Type"))
			assert.Equal(t, []string{"goquiz"}, got.header.Values("User-Agent"))
			assert.Empty(t, got.header.Values("Accept-Encoding"), "the answer is discarded: no compression asked for")
			wantKey := tt.wantKey
			if wantKey == "" {
				wantKey = common.IdempotencyKey(tt.customer.ID) // version 1: the key as it always was
			}
			assert.Equal(t, []string{wantKey}, got.header.Values("Idempotency-Key"))
			if tt.token != "" {
				assert.Equal(t, []string{"Bearer " + tt.token}, got.header.Values("Authorization"))
			} else {
				assert.Empty(t, got.header.Values("Authorization"))
			}
		})
	}
}

func TestPublishSendsEndpointCredentials(t *testing.T) {
	srv, seen := newCaptureServer(t)
	endpoint := strings.Replace(srv.URL, "http://", "http://ann:p%40ss@", 1) + "/customers?source=goquiz"
	c := newClient(t, endpoint, Options{Timeout: 5 * time.Second})
	require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 1})))
	got := <-seen
	assert.Equal(t, "/customers", got.path)
	user, pass, ok := (&http.Request{Header: got.header}).BasicAuth()
	require.True(t, ok, "basic auth sent")
	assert.Equal(t, "ann", user)
	assert.Equal(t, "p@ss", pass)
}

func TestPublishStatus(t *testing.T) {
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantErr    bool
		wantMin    time.Duration
		wantMax    time.Duration
	}{
		{name: "200 delivered", status: 200},
		{name: "500", status: 500, wantErr: true},
		{name: "500 ignores retry-after", status: 500, retryAfter: "7", wantErr: true},
		{name: "429 seconds", status: 429, retryAfter: "3", wantErr: true, wantMin: 3 * time.Second, wantMax: 3 * time.Second},
		{name: "503 seconds", status: 503, retryAfter: "1", wantErr: true, wantMin: time.Second, wantMax: time.Second},
		{name: "503 date", status: 503, retryAfter: future, wantErr: true, wantMin: 25 * time.Second, wantMax: 31 * time.Second},
		{name: "429 date in past", status: 429, retryAfter: past, wantErr: true},
		{name: "429 invalid retry-after", status: 429, retryAfter: "later", wantErr: true},
		{name: "201 is not delivered", status: 201, wantErr: true},
		{name: "302 not followed", status: 302, wantErr: true},
		{name: "307 not followed", status: 307, wantErr: true},
		{name: "400", status: 400, wantErr: true},
		{name: "401", status: 401, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status == http.StatusFound || tt.status == http.StatusTemporaryRedirect {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("some body"))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, Options{Token: "tok-123", Timeout: 5 * time.Second})

			err := errOf(c.Publish(context.Background(), common.Customer{ID: 1}))
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			pe := publishError(t, err)
			assert.Equal(t, tt.status, pe.Status)
			assert.Equal(t, "status "+strconv.Itoa(tt.status), pe.Reason())
			assert.GreaterOrEqual(t, pe.Wait(), tt.wantMin)
			assert.LessOrEqual(t, pe.Wait(), tt.wantMax)
			assert.NotContains(t, err.Error(), "tok-123")
		})
	}
}

func TestPublishTransportFailures(t *testing.T) {
	const token = "very-secret-token"
	tests := []struct {
		name       string
		endpoint   func(t *testing.T) string
		timeout    time.Duration
		wantReason string
	}{
		{
			name:       "server slower than timeout",
			endpoint:   func(t *testing.T) string { return newHangingServer(t).URL },
			timeout:    100 * time.Millisecond,
			wantReason: "timeout",
		},
		{
			name: "connection refused",
			endpoint: func(t *testing.T) string {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close()
				return srv.URL
			},
			timeout:    5 * time.Second,
			wantReason: "connection",
		},
		{
			name: "connection closed without answer",
			endpoint: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						_ = conn.Close()
					}
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			timeout:    5 * time.Second,
			wantReason: "connection",
		},
		{
			name: "garbage answer",
			endpoint: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					conn, buf, err := w.(http.Hijacker).Hijack()
					if err == nil {
						_, _ = buf.WriteString("NOT HTTP\r\n\r\n")
						_ = buf.Flush()
						_ = conn.Close()
					}
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			timeout:    5 * time.Second,
			wantReason: "connection",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.endpoint(t), Options{Token: token, Timeout: tt.timeout})

			start := time.Now()
			err := errOf(c.Publish(context.Background(), common.Customer{ID: 5}))
			elapsed := time.Since(start)

			pe := publishError(t, err)
			assert.Equal(t, tt.wantReason, pe.Reason())
			assert.Zero(t, pe.Status)
			assert.Zero(t, pe.Wait())
			assert.Error(t, pe.Err)
			assert.NotContains(t, err.Error(), token)
			assert.Less(t, elapsed, tt.timeout+2*time.Second)
		})
	}
}

func TestPublishCallerContextEnded(t *testing.T) {
	srv := newHangingServer(t)
	c := newClient(t, srv.URL, Options{Timeout: 10 * time.Second})

	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{
			name: "cancelled while waiting",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name: "cancelled before",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name: "caller deadline shorter than timeout",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := errOf(c.Publish(ctx, common.Customer{ID: 1}))
			require.ErrorIs(t, err, tt.wantErr)
			assert.Less(t, time.Since(start), 2*time.Second, "returns when ctx ends, not at the 10 s timeout")
			var pe *common.PublishError
			assert.False(t, errors.As(err, &pe), "caller cancellation is not a failed attempt")
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		opts     Options
		wantErr  string
	}{
		{name: "http", endpoint: "http://crm.example.com/api/customers"},
		{name: "https with port", endpoint: "https://crm.example.com:8443/x"},
		{name: "ip", endpoint: "http://127.0.0.1:8080"},
		{name: "empty", endpoint: "", wantErr: "scheme must be http or https"},
		{name: "no scheme", endpoint: "crm.example.com/api", wantErr: "scheme must be http or https"},
		{name: "ftp", endpoint: "ftp://crm.example.com/", wantErr: "scheme must be http or https"},
		{name: "no host", endpoint: "http:///path", wantErr: "no host"},
		{name: "port only", endpoint: "http://:8080/", wantErr: "no host"},
		{name: "unparsable", endpoint: "http://[::1", wantErr: "invalid endpoint"},
		{name: "password redacted", endpoint: "ftp://user:hunter2@host/", wantErr: "user:xxxxx@host"},
		{name: "negative timeout", endpoint: "http://h", opts: Options{Timeout: -time.Second}, wantErr: "timeout"},
		{name: "negative conns", endpoint: "http://h", opts: Options{MaxConns: -1}, wantErr: "max conns"},
		{name: "token with newline", endpoint: "http://h", opts: Options{Token: "abc\r\nX: y"}, wantErr: "token contains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.endpoint, tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), "hunter2")
			assert.NotContains(t, err.Error(), "abc")
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New("http://h", Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultTimeout, c.timeout)
	assert.Equal(t, DefaultMaxConns, c.tr.MaxConnsPerHost)
	assert.Equal(t, DefaultMaxConns, c.tr.MaxIdleConnsPerHost)
	assert.Empty(t, c.header["Authorization"])
	assert.Equal(t, http.MethodPost, c.method)
	assert.Equal(t, []int{http.StatusOK}, c.success)
	assert.Equal(t, DefaultIdempotencyHeader, c.keyHeader)
}

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
	assert.LessOrEqual(t, newConns.Load(), int64(publishers), "connections were not reused")
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

func TestPublishSendsPathAsConfigured(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{name: "escapes and dot segments kept", path: "/api/v1/../crm/a%2Fb/customers?source=goquiz&x=%20", want: "/api/v1/../crm/a%2Fb/customers?source=goquiz&x=%20"},
		{name: "no path", path: "", want: "/"},
		{name: "query only", path: "?source=goquiz", want: "/?source=goquiz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen <- r.RequestURI
			}))
			defer srv.Close()
			c := newClient(t, srv.URL+tt.path, Options{Timeout: 5 * time.Second})
			require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 1})))
			assert.Equal(t, tt.want, <-seen)
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

// errOf returns the error of a Publish.
func errOf(_ common.Budget, err error) error { return err }
