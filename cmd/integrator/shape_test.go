package main_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"goquiz/internal/promtest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// writeFile writes text to a file of the test's and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// A mistake in how requests are shaped stops the start, exit 2, with one
// line naming the variable (and the template's line and column), before
// any request is sent or the database is reached.
func TestRequestConfigurationErrors(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"unknown placeholder", []string{"BODY_TEMPLATE=" + writeFile(t, "body.json", "{\n  \"email\": {{mail}}\n}\n")}, "body.json:2:12: unknown placeholder {{mail}}"},
		{"not JSON", []string{"BODY_TEMPLATE=" + writeFile(t, "body.json", "{\"properties\": {\n  \"email\": {{email}},\n}}")}, "body.json:3:1: not JSON once its placeholders are filled"},
		{"placeholder in quotes", []string{"BODY_TEMPLATE=" + writeFile(t, "body.json", `{"email":"{{email}}"}`)}, "body.json:1:11: {{email}} is between quotes"},
		{"no such file", []string{"BODY_TEMPLATE=/nonexistent/body.json"}, "BODY_TEMPLATE: open /nonexistent/body.json"},
		{"method", []string{"API_METHOD=DELETE"}, `API_METHOD "DELETE" is not POST, PUT or PATCH`},
		{"endpoint placeholder", []string{"API_ENDPOINT=" + srv.URL + "/c/{mail}"}, "API_ENDPOINT: unknown placeholder {mail}"},
		// Credentials in the endpoint are sent as Basic auth: secrets too.
		{"endpoint of another scheme", []string{"API_ENDPOINT=ftp://crm:hunter2@crm.example.com/c"}, `API_ENDPOINT "ftp://***@crm.example.com/c" is not an http:// or https:// URL`},
		{"endpoint that does not parse", []string{"API_ENDPOINT=http://crm:hunter2@[::1/c"}, `API_ENDPOINT "http://***@[::1/c" is not an http:// or https:// URL`},
		{"header line", []string{"API_HEADERS=X-A: 1\nhunter2"}, "API_HEADERS line 2 is not Name: value"},
		{"reserved header", []string{"API_HEADERS=Content-Type: text/plain"}, "API_HEADERS line 1: Content-Type is set by goquiz"},
		{"header and token", []string{"API_TOKEN=t", "API_HEADERS=Authorization: Basic hunter2"}, "API_HEADERS sets Authorization, which API_TOKEN sets"},
		{"header and key", []string{"IDEMPOTENCY_HEADER=X-Key", "API_HEADERS=x-key: hunter2"}, "API_HEADERS sets X-Key, the header of the idempotency key"},
		{"key header", []string{"IDEMPOTENCY_HEADER=X Key"}, `IDEMPOTENCY_HEADER "X Key": not a valid header name`},
		{"success status", []string{"SUCCESS_STATUS=200,2O1"}, `SUCCESS_STATUS "200,2O1": "2O1" is not an HTTP status`},
		{"give up on 429", []string{"GIVE_UP_ON=400,429"}, "GIVE_UP_ON lists 429"},
		{"give up on a success", []string{"SUCCESS_STATUS=200,409", "GIVE_UP_ON=409"}, "GIVE_UP_ON lists 409, which SUCCESS_STATUS takes as delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"DSN=postgres://u:p@127.0.0.1:1/db?sslmode=disable", "API_ENDPOINT=" + srv.URL}, tt.env...)
			res := testbin.Run(t, integrator(t), env, nil)
			assert.Equal(t, 2, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tt.want)
			assert.Len(t, strings.Split(strings.TrimSpace(res.Stderr), "\n"), 1, res.Stderr)
			assert.NotContains(t, res.Stderr, "hunter2", "header values are secrets")
		})
	}
	assert.Zero(t, requests.Load(), "no request sent")
}

// shapedRequest is what the CRM double saw of one request.
type shapedRequest struct {
	method, rawPath, query string
	header                 http.Header
	body                   map[string]any
}

// TestShapedRequests: a PATCH to a path holding the record's email and
// id, a template's body, extra headers and the key in a header of its
// own; 204 delivers. Values with quotes, backslashes, control characters
// and non-ASCII text reach the CRM intact; the headers' values are never
// logged.
func TestShapedRequests(t *testing.T) {
	dsn := pgtest.DSN(t)
	nasty := common.Customer{ID: 42, FirstName: "Zoë \"the\" \\ <b>&", LastName: "tab\tnl\n\x01\x7f end", Email: "a/b?c#d@例え.jp", Phone: "☎ +1 (555) 0100"}
	plain := common.Customer{ID: 43, FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Phone: "1"}
	seedCustomers(t, dsn, nasty, plain)
	var mu sync.Mutex
	got := map[int64]shapedRequest{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := int64(body["ref"].(float64))
		mu.Lock()
		got[id] = shapedRequest{method: r.Method, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tpl := writeFile(t, "contact.json", `{
  "ref": {{id}},
  "contact": {"first": {{ first_name }}, "last": {{last_name}}, "email": {{email}}, "phone": {{phone}}},
  "source": "goquiz {{not a placeholder}}"
}
`)
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL,
		"API_ENDPOINT="+srv.URL+"/contacts/{email}/{id}?idProperty=email",
		"API_METHOD=patch", "BODY_TEMPLATE="+tpl, "API_HEADERS=X-Api-Version: 3\nX-Secret: hunter2-value\n",
		"IDEMPOTENCY_HEADER=X-Request-Id", "SUCCESS_STATUS=200,204", "API_TOKEN=tok-secret"))
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 2 }, 20*time.Second, 50*time.Millisecond)
	stopGracefully(t, p)

	mu.Lock()
	defer mu.Unlock()
	for _, c := range []common.Customer{nasty, plain} {
		r, ok := got[c.ID]
		require.True(t, ok, "customer %d sent", c.ID)
		assert.Equal(t, http.MethodPatch, r.method)
		assert.Equal(t, "idProperty=email", r.query)
		assert.Equal(t, map[string]any{"ref": float64(c.ID), "source": "goquiz {{not a placeholder}}",
			"contact": map[string]any{"first": c.FirstName, "last": c.LastName, "email": c.Email, "phone": c.Phone}}, r.body)
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.Equal(t, common.IdempotencyKey(c.ID), r.header.Get("X-Request-Id"))
		assert.Empty(t, r.header.Values("Idempotency-Key"))
		assert.Equal(t, "3", r.header.Get("X-Api-Version"))
		assert.Equal(t, "hunter2-value", r.header.Get("X-Secret"))
		assert.Equal(t, "Bearer tok-secret", r.header.Get("Authorization"))
	}
	assert.Equal(t, "/contacts/a%2Fb%3Fc%23d@%E4%BE%8B%E3%81%88.jp/42", got[42].rawPath)
	assert.Equal(t, "/contacts/ann@example.com/43", got[43].rawPath)
	out := p.Output()
	assert.NotContains(t, out, "hunter2-value", "API_HEADERS values are never logged")
	assert.NotContains(t, out, "tok-secret")
	assert.Contains(t, out, `api_headers="X-Api-Version: ***, X-Secret: ***"`)
	assert.Contains(t, out, "api_method=PATCH")
}

// seedCustomers stores customers through the store, as the parser does.
func seedCustomers(t *testing.T, dsn string, cs ...common.Customer) {
	t.Helper()
	execSQL(t, dsn)
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, c := range cs {
		_, err := db.Exec(`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, c.FirstName, c.LastName, c.Email, c.Phone)
		require.NoError(t, err)
	}
}

// TestGiveUpOnRejectsAndRetryRejectedResends: a CRM refusing a quarter of
// the records 400 with a JSON reason; with GIVE_UP_ON=400 each is asked
// once and ends rejected with its reason, the others are delivered once.
// The status and the metrics show them; once the CRM takes them,
// retry-failed --rejected sends them again.
func TestGiveUpOnRejectsAndRetryRejectedResends(t *testing.T) {
	const n = 200
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, n)
	var healed atomic.Bool
	var mu sync.Mutex
	asked := map[int64]int{}
	accepted := map[int64]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c struct {
			ID int64 `json:"id"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &c)
		mu.Lock()
		defer mu.Unlock()
		asked[c.ID]++
		if c.ID%4 == 0 && !healed.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","message":"record %d is invalid","category":"VALIDATION_ERROR"}`+"\n", c.ID)
			return
		}
		accepted[c.ID]++
	}))
	defer srv.Close()
	metricsPort, err := testbin.FreePort()
	require.NoError(t, err)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "GIVE_UP_ON=400,422", "POLL_INTERVAL=1h",
		fmt.Sprintf("METRICS_LISTEN=127.0.0.1:%d", metricsPort)))
	require.Eventually(t, func() bool {
		return countState(t, dsn, "sent") == n*3/4 && countState(t, dsn, "rejected") == n/4
	}, 30*time.Second, 50*time.Millisecond)

	mu.Lock()
	for id := int64(1); id <= n; id++ {
		assert.Equal(t, 1, asked[id], "record %d asked once", id)
		if id%4 != 0 {
			assert.Equal(t, 1, accepted[id], "record %d delivered once", id)
		}
	}
	mu.Unlock()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var lastErr string
	var attempts int
	require.NoError(t, db.QueryRow(`SELECT attempts, last_error FROM customers WHERE id = 8`).Scan(&attempts, &lastErr))
	assert.Equal(t, 1, attempts)
	assert.Equal(t, `status 400: {"status":"error","message":"record 8 is invalid","category":"VALIDATION_ERROR"}`, lastErr)

	m := promtest.Scrape(t, metricsURL)
	assert.Equal(t, float64(n/4), m[`goquiz_records_rejected_total{status="400"}`])
	assert.Equal(t, float64(n/4), m[`goquiz_records{state="rejected"}`])
	assert.Equal(t, 0.0, m["goquiz_oldest_undelivered_age_seconds"], "rejected records are done with")

	st := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status")
	require.Equal(t, 0, st.Code, st.Stderr)
	assert.Regexp(t, fmt.Sprintf(`(?m)^  rejected +%d$`, n/4), st.Stdout)
	assert.Regexp(t, fmt.Sprintf(`(?m)^rejected records by the CRM's status \(records  status\):\n +%d  400$`, n/4), st.Stdout)
	assert.Regexp(t, `(?m)^  [0-9]+  [0-9-]+ [0-9:]+ UTC  status 400: \{"status":"error","message":"record [0-9]+ is invalid","category":"VALIDATION_ERROR"\}$`, st.Stdout)
	assert.Contains(t, st.Stdout, "last errors of undelivered records: none")

	res := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, "0 failed records put back to pending, due now; running integrators deliver them\n", res.Stdout, "rejected records are not failed ones")
	res = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed", "--rejected=409,422")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, "0 records rejected with status 409, 422 put back to pending, due now; running integrators deliver them\n", res.Stdout)

	healed.Store(true)
	res = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed", "--rejected")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, fmt.Sprintf("%d rejected records put back to pending, due now; running integrators deliver them\n", n/4), res.Stdout)
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == n }, 10*time.Second, 50*time.Millisecond, "woken by the notification")
	stopGracefully(t, p)
	assert.Regexp(t, fmt.Sprintf(`rejected=%d`, n/4), p.Output())
	mu.Lock()
	defer mu.Unlock()
	for id := int64(1); id <= n; id++ {
		assert.Equal(t, 1, accepted[id], "record %d delivered once", id)
	}

	bad := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed", "--rejected=4OO")
	assert.Equal(t, 2, bad.Code)
	assert.Contains(t, bad.Stderr, `"4OO" is not an HTTP status`)
	bad = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed", "--all")
	assert.Equal(t, 2, bad.Code)
	assert.Contains(t, bad.Stderr, "retry-failed --rejected")
}
