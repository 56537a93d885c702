package crm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// rawRequest is what a server saw of a request, its URL as sent.
type rawRequest struct {
	method, rawPath, rawQuery string
	path                      string // decoded
	query                     url.Values
	header                    http.Header
	body                      []byte
}

// newRawServer starts a server answering status with body, handing
// every request to the returned channel.
func newRawServer(t *testing.T, status int, body string) (*httptest.Server, <-chan rawRequest) {
	t.Helper()
	ch := make(chan rawRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- rawRequest{method: r.Method, rawPath: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, path: r.URL.Path,
			query: r.URL.Query(), header: r.Header.Clone(), body: b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestPublishShapedRequest(t *testing.T) {
	srv, seen := newRawServer(t, http.StatusCreated, `{"id":"1"}`)
	tpl, err := ParseBodyTemplate([]byte(hubspotTemplate))
	require.NoError(t, err)
	header, err := ParseHeaders("X-Api-Version: 3\r\nX-Tenant: a b\n\nAccept: application/json\n")
	require.NoError(t, err)
	c := newClient(t, srv.URL+"/contacts/{email}/{id}?idProperty=email&name={last_name}", Options{
		Method: "patch", Body: tpl, Header: header, IdempotencyHeader: "x-request-id", Success: []int{200, 201, 204},
		Token: "tok", Timeout: 5 * time.Second,
	})
	cust := common.Customer{ID: 9, FirstName: "Zoë", LastName: "d'Arc & Co+1=2/?#", Email: "a/b@ex ample.com", Phone: ".."}
	require.NoError(t, errOf(c.Publish(context.Background(), cust)))
	got := <-seen
	assert.Equal(t, http.MethodPatch, got.method)
	assert.Equal(t, "/contacts/a%2Fb@ex%20ample.com/9", got.rawPath, "each value one escaped segment")
	assert.Equal(t, "/contacts/a/b@ex ample.com/9", got.path)
	assert.Equal(t, "email", got.query.Get("idProperty"))
	assert.Equal(t, cust.LastName, got.query.Get("name"), "a query value, escaped")
	assert.Equal(t, map[string]any{"properties": map[string]any{"email": cust.Email, "firstname": "Zoë", "lastname": cust.LastName, "phone": ".."}},
		decodeBody(t, got.body))
	assert.Equal(t, []string{"application/json"}, got.header.Values("Content-Type"), "kept with a template")
	assert.Equal(t, []string{common.IdempotencyKey(9)}, got.header.Values("X-Request-Id"))
	assert.Empty(t, got.header.Values("Idempotency-Key"), "the key goes in its header only")
	assert.Equal(t, []string{"3"}, got.header.Values("X-Api-Version"))
	assert.Equal(t, []string{"a b"}, got.header.Values("X-Tenant"))
	assert.Equal(t, []string{"application/json"}, got.header.Values("Accept"))
	assert.Equal(t, []string{"Bearer tok"}, got.header.Values("Authorization"))
}

func TestPublishEndpointValues(t *testing.T) {
	tests := []struct {
		name, endpoint string
		customer       common.Customer
		wantRawPath    string
		wantRawQuery   string
	}{
		{"dot segments stay values", "/c/{email}/x", common.Customer{Email: ".."}, "/c/%2E%2E/x", ""},
		{"one dot", "/c/{email}", common.Customer{Email: "."}, "/c/%2E", ""},
		{"empty value", "/c/{phone}/x", common.Customer{}, "/c//x", ""},
		{"in a segment", "/c/id-{id}.json", common.Customer{ID: 12}, "/c/id-12.json", ""},
		{"query", "/c?e={email}&p={phone}", common.Customer{Email: "a&b=c", Phone: "+1 2"}, "/c", "e=a%26b%3Dc&p=%2B1+2"},
		{"non-ASCII", "/c/{first_name}", common.Customer{FirstName: "東京"}, "/c/%E6%9D%B1%E4%BA%AC", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := newRawServer(t, http.StatusOK, "")
			c := newClient(t, srv.URL+tt.endpoint, Options{Timeout: 5 * time.Second})
			require.NoError(t, errOf(c.Publish(context.Background(), tt.customer)))
			got := <-seen
			assert.Equal(t, tt.wantRawPath, got.rawPath)
			assert.Equal(t, tt.wantRawQuery, got.rawQuery)
		})
	}
}

func TestPublishWithoutIdempotencyKey(t *testing.T) {
	srv, seen := newRawServer(t, http.StatusOK, "")
	c := newClient(t, srv.URL, Options{NoIdempotencyKey: true, Timeout: 5 * time.Second})
	require.NoError(t, errOf(c.Publish(context.Background(), common.Customer{ID: 1})))
	got := <-seen
	for name, v := range got.header {
		assert.NotContains(t, v, common.IdempotencyKey(1), "header %s", name)
	}
	assert.Equal(t, []string{"application/json"}, got.header.Values("Content-Type"))
}

func TestPublishSuccessStatuses(t *testing.T) {
	tests := []struct {
		name    string
		success []int
		status  int
		wantErr bool
	}{
		{"default: 200", nil, 200, false},
		{"default: 201 fails", nil, 201, true},
		{"listed 201", []int{200, 201, 204}, 201, false},
		{"listed 204", []int{200, 201, 204}, 204, false},
		{"listed 409", []int{201, 409}, 409, false},
		{"200 not listed", []int{201}, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newRawServer(t, tt.status, "")
			c := newClient(t, srv.URL, Options{Success: tt.success, Timeout: 5 * time.Second})
			err := errOf(c.Publish(context.Background(), common.Customer{ID: 1}))
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.status, publishError(t, err).Status)
		})
	}
}

func TestPublishKeepsTheStartOfARefusal(t *testing.T) {
	long := strings.Repeat("a", maxRefusal-1) + "éé" // the cut splits the first é
	tests := []struct {
		name, body, want string
	}{
		{"HubSpot's", `{"status":"error","category":"VALIDATION_ERROR"}` + "\n", `{"status":"error","category":"VALIDATION_ERROR"}`},
		{"empty", "", ""},
		{"on lines", "bad\r\n  request\n\tthere", "bad request there"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"long, cut on a character", long, long[:maxRefusal-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newRawServer(t, http.StatusBadRequest, tt.body)
			c := newClient(t, srv.URL, Options{Timeout: 5 * time.Second})
			err := errOf(c.Publish(context.Background(), common.Customer{ID: 1}))
			pe := publishError(t, err)
			assert.Equal(t, tt.want, pe.Body)
			assert.LessOrEqual(t, len(pe.Body), maxRefusal)
			assert.Equal(t, "status 400", pe.Error(), "the body is kept for a rejection only")
		})
	}
}

func TestNewShapeMistakes(t *testing.T) {
	tests := []struct {
		name, endpoint string
		opts           Options
		wantErr        string
	}{
		{"unknown placeholder", "http://h/c/{mail}", Options{}, "unknown placeholder {mail}"},
		{"unclosed placeholder", "http://h/c/{id", Options{}, "no } closes"},
		{"placeholder in the host", "http://{id}.h/c", Options{}, "path or the query"},
		{"placeholder in the fragment", "http://h/c#{id}", Options{}, "path or the query"},
		{"method", "http://h", Options{Method: "GET"}, `method "GET" is not POST, PUT or PATCH`},
		{"Content-Type", "http://h", Options{Header: http.Header{"Content-Type": {"text/plain"}}}, "Content-Type is set by goquiz"},
		{"Host", "http://h", Options{Header: http.Header{"Host": {"x"}}}, "Host is set by the HTTP client"},
		{"header named as the key", "http://h", Options{Header: http.Header{"Idempotency-Key": {"x"}}}, "idempotency key's"},
		{"header named as another key", "http://h", Options{IdempotencyHeader: "X-Key", Header: http.Header{"X-Key": {"x"}}}, "idempotency key's"},
		{"Authorization and a token", "http://h", Options{Token: "t", Header: http.Header{"Authorization": {"Basic hunter2"}}}, "Authorization is set by the token"},
		{"Authorization and credentials", "http://u:p@h", Options{Header: http.Header{"Authorization": {"Basic hunter2"}}}, "Authorization is set by the token"},
		{"bad header value", "http://h", Options{Header: http.Header{"X-A": {"hunter2\r\nX-B: 1"}}}, "not allowed in a header"},
		{"bad key header", "http://h", Options{IdempotencyHeader: "X Key"}, "not a valid header name"},
		{"reserved key header", "http://h", Options{IdempotencyHeader: "content-type"}, "Content-Type is set by goquiz"},
		{"success out of range", "http://h", Options{Success: []int{100}}, "success status 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.endpoint, tt.opts)
			require.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), "hunter2", "header values are secrets")
		})
	}
	c, err := New("http://h", Options{NoIdempotencyKey: true, Header: http.Header{"Idempotency-Key": {"mine"}, "Authorization": {"Basic x"}}})
	require.NoError(t, err, "without a key of its own, any header may be given; without a token, Authorization too")
	assert.Empty(t, c.keyHeader)
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name, block string
		want        http.Header
		wantErr     string
	}{
		{"empty", "", http.Header{}, ""},
		{"lines", "X-Api-Version: 3\nauthorization:  Bearer pat-1 \r\n", http.Header{"X-Api-Version": {"3"}, "Authorization": {"Bearer pat-1"}}, ""},
		{"repeated", "Accept: a\n\nAccept: b", http.Header{"Accept": {"a", "b"}}, ""},
		{"value with colons", "X-Url: http://x:1/y", http.Header{"X-Url": {"http://x:1/y"}}, ""},
		{"no colon", "X-A: 1\nhunter2", nil, "line 2 is not Name: value"},
		{"empty name", ": hunter2", nil, "line 1 is not Name: value"},
		{"bad name", "X A: hunter2", nil, "line 1: not a valid header name"},
		{"reserved", "X-A: 1\ncontent-length: 3", nil, "line 2: Content-Length is set by the HTTP client"},
		{"control character", "X-A: hunter2\x01", nil, "line 1: the value of X-A holds a character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeaders(tt.block)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2", "values are secrets")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, h)
		})
	}
}
