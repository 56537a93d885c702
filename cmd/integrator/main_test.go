package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/testbin"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, testbin.Cleanup)
}

func integrator(t *testing.T) string { return testbin.Build(t, "goquiz/cmd/integrator") }

// recorder is a CRM test double: the mock CRM, recording every request it
// accepted (answered 200) with its idempotency key and body.
type recorder struct {
	crm *mockcrm.Server
	mu  sync.Mutex
	ok  map[int64][]string // id -> keys of the 200 answers
	bad []string
	// first is when the first request arrived.
	first time.Time
}

func newRecorder(cfg mockcrm.Config) (*recorder, *httptest.Server) {
	r := &recorder{crm: mockcrm.New(cfg), ok: map[int64][]string{}}
	srv := httptest.NewServer(r)
	return r, srv
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	if r.first.IsZero() {
		r.first = time.Now()
	}
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, code: 200}
	r.crm.ServeHTTP(sw, req)
	if sw.code != 200 || req.URL.Path == "/stats" {
		return
	}
	var c struct {
		ID int64 `json:"id"`
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := json.Unmarshal(body, &c); err != nil {
		r.bad = append(r.bad, string(body))
		return
	}
	if req.Header.Get("Content-Type") != "application/json" {
		r.bad = append(r.bad, "content type "+req.Header.Get("Content-Type"))
	}
	r.ok[c.ID] = append(r.ok[c.ID], req.Header.Get("Idempotency-Key"))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// check returns how many customers were accepted and how many times one
// was accepted again, failing the test on a key that is not the record's.
func (r *recorder) check(t *testing.T) (customers, resent int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Empty(t, r.bad)
	for id, keys := range r.ok {
		customers++
		resent += len(keys) - 1
		for _, k := range keys {
			assert.Equal(t, common.IdempotencyKey(id), k, "every attempt of %d carries its key", id)
		}
	}
	return
}

func (r *recorder) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ok)
}

// seed stores n customers through the store, as the parser does.
func seed(t *testing.T, dsn string, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	chunk := make([]common.Customer, n)
	for i := range chunk {
		id := int64(from + i)
		chunk[i] = common.Customer{ID: id, FirstName: fmt.Sprint("F", id), LastName: "L", Email: fmt.Sprintf("c%d@example.com", id), Phone: "555"}
	}
	_, err = db.Writer().WriteChunk(ctx, chunk)
	require.NoError(t, err)
}

func countState(t *testing.T, dsn, state string) int {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM customers WHERE state = $1`, state).Scan(&n))
	return n
}

func env(dsn, endpoint string, extra ...string) []string {
	return append([]string{
		"DSN=" + dsn,
		"API_ENDPOINT=" + endpoint + "/customers",
		"RETRY_DELAY=20ms",
		"RETRY_MAX_DELAY=200ms",
		"REQUEST_TIMEOUT=2s",
		"POLL_INTERVAL=1s",
		"LEASE=3s",
	}, extra...)
}

func stopGracefully(t *testing.T, p *testbin.Process) {
	t.Helper()
	p.Signal(syscall.SIGTERM)
	code, err := p.Wait(15 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 0, code, p.Output())
}

func TestDeliversEveryRecordOnceThroughAFlakyCRM(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 2000)
	rec, srv := newRecorder(mockcrm.Config{FailRate: 0.3, RateLimitRate: 0.05, RetryAfter: time.Second, LatencyJitter: 2 * time.Millisecond, Seed: 7})
	defer srv.Close()
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=8"))
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 2000 }, 60*time.Second, 100*time.Millisecond)
	stopGracefully(t, p)
	customers, resent := rec.check(t)
	assert.Equal(t, 2000, customers)
	assert.Zero(t, resent)
	st := rec.crm.Stats()
	assert.Greater(t, st.Faults.Fail, int64(0))
	assert.Zero(t, st.Duplicates)
}

func TestTwoIntegratorsNeverSendARecordTwice(t *testing.T) {
	dsn := pgtest.DSN(t)
	rec, srv := newRecorder(mockcrm.Config{FailRate: 0.1, Latency: time.Millisecond, Seed: 3})
	defer srv.Close()
	a := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=4"))
	b := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=4"))
	time.Sleep(500 * time.Millisecond) // both idle and listening
	for i := 0; i < 5; i++ {
		seed(t, dsn, 1+i*600, 600)
	}
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 3000 }, 60*time.Second, 100*time.Millisecond)
	stopGracefully(t, a)
	stopGracefully(t, b)
	customers, resent := rec.check(t)
	assert.Equal(t, 3000, customers)
	assert.Zero(t, resent)
	// Both took part.
	for _, p := range []*testbin.Process{a, b} {
		assert.Regexp(t, `delivered=[1-9]`, p.Output())
	}
}

func TestNotifyWakesAnIdleIntegrator(t *testing.T) {
	dsn := pgtest.DSN(t)
	rec, srv := newRecorder(mockcrm.Config{})
	defer srv.Close()
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "POLL_INTERVAL=1h"))
	time.Sleep(time.Second) // started, found nothing, idle for an hour
	committed := time.Now()
	seed(t, dsn, 1, 10)
	require.Eventually(t, func() bool { return rec.accepted() == 10 }, 5*time.Second, 10*time.Millisecond)
	rec.mu.Lock()
	first := rec.first
	rec.mu.Unlock()
	assert.Less(t, first.Sub(committed), time.Second, "first request within a second of the commit")
	stopGracefully(t, p)
}

func TestCrashedIntegratorsRecordsAreResentWithTheSameKey(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 200)
	// A slow CRM, so that the first integrator dies with requests in flight.
	rec, srv := newRecorder(mockcrm.Config{Latency: 300 * time.Millisecond})
	defer srv.Close()
	a := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=8", "LEASE=1s"))
	require.Eventually(t, func() bool { return rec.accepted() >= 16 }, 20*time.Second, 10*time.Millisecond)
	a.Kill()
	killedAt := time.Now()
	b := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=8", "LEASE=1s"))
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 200 }, 60*time.Second, 100*time.Millisecond)
	stopGracefully(t, b)
	customers, resent := rec.check(t) // every resend carries the record's key
	assert.Equal(t, 200, customers)
	t.Logf("resent after the crash: %d (took %s)", resent, time.Since(killedAt).Round(time.Millisecond))
	assert.LessOrEqual(t, resent, 8+200/8, "only what the crashed integrator held can be resent")
}

func TestSIGTERMReleasesWhatWasNotSent(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 500)
	rec, srv := newRecorder(mockcrm.Config{Latency: 100 * time.Millisecond})
	defer srv.Close()
	a := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=4", "LEASE=1m"))
	require.Eventually(t, func() bool { return rec.accepted() >= 8 }, 20*time.Second, 10*time.Millisecond)
	a.Signal(syscall.SIGTERM)
	start := time.Now()
	code, err := a.Wait(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 0, code, a.Output())
	assert.Less(t, time.Since(start), 3*time.Second)
	// Nothing stays leased: a restart (even with a long lease) finishes at once.
	b := testbin.Start(t, integrator(t), env(dsn, srv.URL, "WORKERS=8", "LEASE=1m"))
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 500 }, 30*time.Second, 100*time.Millisecond)
	stopGracefully(t, b)
	customers, resent := rec.check(t)
	assert.Equal(t, 500, customers)
	assert.Zero(t, resent)
}

func TestRequestBodyAndHeaders(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	_, err = db.Writer().WriteChunk(ctx, []common.Customer{{ID: 42, FirstName: "Zoë", LastName: "O\"Neil", Email: "", Phone: " 555 "}})
	require.NoError(t, err)
	db.Close()
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- r:
			bodies <- b
		default:
		}
	}))
	defer srv.Close()
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "API_TOKEN=s3cret-token"))
	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no request")
	}
	body := <-bodies
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/customers", r.URL.Path)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "Bearer s3cret-token", r.Header.Get("Authorization"))
	assert.Equal(t, common.IdempotencyKey(42), r.Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"id": 42, "first_name": "Zoë", "last_name": "O\"Neil", "email": "", "phone": " 555 "}`, string(body))
	stopGracefully(t, p)
	assert.NotContains(t, p.Output(), "s3cret-token")
}

func TestConfigurationErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"bad duration", []string{"POLL_INTERVAL=soon"}, "POLL_INTERVAL"},
		{"bad workers", []string{"WORKERS=0"}, "WORKERS"},
		{"bad endpoint", []string{"API_ENDPOINT=localhost:8080"}, "API_ENDPOINT"},
		{"retry cap below first delay", []string{"RETRY_DELAY=5s", "RETRY_MAX_DELAY=1s"}, "RETRY_MAX_DELAY"},
		{"DSN URL that does not parse", []string{"DSN=postgres://u:hunter2@h:abc/db"}, "DSN postgres://u:***@h:abc/db"},
		{"DSN with a bad setting", []string{"DSN=host=h password=hunter2 sslmode=bogus"}, "DSN host=h password=***"},
		{"DSN password with an unterminated quote", []string{"DSN=host=h password='pass hunter2"}, "DSN host=h password=***"},
		{"DSN password in double quotes", []string{`DSN=host=h password="pass hunter2"`}, "DSN host=h password=***"},
		{"LISTEN_DSN that does not parse", []string{"LISTEN_DSN=postgres://u:hunter2@h/d%zz"}, "LISTEN_DSN"},
		{"token with a line break", []string{"API_TOKEN=abc\nX-Evil: 1"}, "API_TOKEN"},
		{"proxy of another scheme", []string{"API_ENDPOINT=http://crm.example/c", "HTTP_PROXY=ftp://proxy.example"}, "HTTP_PROXY or HTTPS_PROXY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := testbin.Run(t, integrator(t), tt.env, nil)
			assert.Equal(t, 2, res.Code)
			assert.Contains(t, res.Stderr, tt.want)
			assert.Equal(t, 1, len(strings.Split(strings.TrimSpace(res.Stderr), "\n")), res.Stderr)
			assert.NotContains(t, res.Stdout+res.Stderr, "hunter2")
			assert.NotContains(t, res.Stderr, "integrator starting", "checked before starting")
		})
	}
	res := testbin.Run(t, integrator(t), []string{"DSN=postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable", "CONNECT_TIMEOUT=1s",
		"API_ENDPOINT=http://crm-user:hunter2@127.0.0.1:1/customers"}, nil)
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Stderr, "connect to PostgreSQL")
	assert.Contains(t, res.Stderr, "api_endpoint=http://127.0.0.1:1/customers")
	assert.NotContains(t, res.Stdout+res.Stderr, "hunter2")
	// A password with an escaped space, as libpq reads it, is masked whole
	// in the error of a connection.
	res = testbin.Run(t, integrator(t), []string{`DSN=host=127.0.0.1 port=1 password=pass\ hunter2 sslmode=disable`, "CONNECT_TIMEOUT=1s"}, nil, "status")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Stderr, "connect to PostgreSQL at host=127.0.0.1 port=1 password=*** sslmode=disable")
	assert.NotContains(t, res.Stdout+res.Stderr, "hunter2")

	help := testbin.Run(t, integrator(t), nil, nil, "-h")
	require.Equal(t, 0, help.Code)
	for _, v := range []string{"DSN", "LISTEN_DSN", "API_ENDPOINT", "WORKERS", "POLL_INTERVAL", "RETRY_DELAY", "RETRY_MAX_DELAY", "REQUEST_TIMEOUT", "LEASE", "API_TOKEN",
		"CONNECT_TIMEOUT", "DB_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "MAX_ATTEMPTS", "MAX_RATE", "ADAPTIVE_RATE", "METRICS_LISTEN", "status --recount", "retry-failed",
		"API_METHOD", "BODY_TEMPLATE", "API_HEADERS", "IDEMPOTENCY_HEADER", "SUCCESS_STATUS", "GIVE_UP_ON", "retry-failed --rejected"} {
		assert.Contains(t, help.Stdout, v)
	}
}
