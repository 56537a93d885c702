package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
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
		{name: "token with newline", endpoint: "http://h", opts: Options{Token: "abc\r\nX: y"}, wantErr: "token contains characters not allowed"},
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

// errOf returns the error of a Publish.
func errOf(_ common.Budget, err error) error { return err }
