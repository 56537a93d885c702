package crm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

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
