package mockcrm

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeCustomerAccepts(t *testing.T) {
	s := New(Config{})
	w := postCustomer(t, s, 42)

	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"accepted"}`, w.Body.String())
	assert.True(t, s.Accepted(42))
	assert.False(t, s.Accepted(43))
	assert.Equal(t, int64(1), s.AcceptedCount())
	assert.Equal(t, []int64{42}, s.acceptedIDs())
	st := s.Stats()
	assert.Equal(t, int64(1), st.Requests)
	assert.Equal(t, int64(1), st.Accepted)
}

func TestServeCustomerBadBody(t *testing.T) {
	s := New(Config{})
	for _, tt := range badBodies {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, s, request{body: tt.body, keyID: 1})
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Contains(t, w.Body.String(), tt.reason)
			assert.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain"))
		})
	}
	st := s.Stats()
	assert.Equal(t, int64(len(badBodies)), st.BadRequests)
	assert.Equal(t, int64(len(badBodies)), st.Requests)
	assert.Zero(t, st.Accepted)
	assert.Zero(t, s.AcceptedCount())
}

func TestServeCustomerTooLarge(t *testing.T) {
	body := customerJSON(1)
	tests := []struct {
		name     string
		maxBytes int64
		body     string
		chunked  bool
		want     int
	}{
		{name: "fits exactly", maxBytes: int64(len(body)), body: body, want: http.StatusOK},
		{name: "declared length too large", maxBytes: 16, body: body, want: http.StatusRequestEntityTooLarge},
		{name: "chunked body too large", maxBytes: 16, body: body, chunked: true, want: http.StatusRequestEntityTooLarge},
		{name: "default limit", body: `{"id":1,"first_name":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`, want: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{MaxBodyBytes: tt.maxBytes})
			w := do(t, s, request{body: tt.body, chunked: tt.chunked, keyID: 1})
			assert.Equal(t, tt.want, w.Code)
			if tt.want != http.StatusOK {
				assert.Equal(t, int64(1), s.Stats().BadRequests)
				assert.False(t, s.Accepted(1))
			}
		})
	}
}

func TestServeMethodNotAllowed(t *testing.T) {
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodGet, "/customers", "POST"},
		{http.MethodPut, "/", "POST"},
		{http.MethodDelete, "/any/path", "POST"},
		{http.MethodPost, "/stats", "GET, HEAD"},
		{http.MethodDelete, "/stats", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			s := New(Config{})
			w := do(t, s, request{method: tt.method, path: tt.path, body: customerJSON(1), keyID: 1})
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, tt.allow, w.Header().Get("Allow"))
			assert.False(t, s.Accepted(1))
		})
	}
}

func TestServeAuthorization(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name   string
		path   string
		method string
		auth   string
		want   int
	}{
		{name: "no header", want: http.StatusUnauthorized},
		{name: "wrong token", auth: "Bearer nope", want: http.StatusUnauthorized},
		{name: "token prefix", auth: "Bearer s3cret", want: http.StatusUnauthorized},
		{name: "token suffix", auth: "Bearer s3cret-token2", want: http.StatusUnauthorized},
		{name: "basic scheme", auth: "Basic " + token, want: http.StatusUnauthorized},
		{name: "bare token", auth: token, want: http.StatusUnauthorized},
		{name: "scheme only", auth: "Bearer ", want: http.StatusUnauthorized},
		{name: "right token", auth: "Bearer " + token, want: http.StatusOK},
		{name: "scheme any case", auth: "bearer " + token, want: http.StatusOK},
		{name: "stats no header", path: "/stats", method: http.MethodGet, want: http.StatusUnauthorized},
		{name: "stats right token", path: "/stats", method: http.MethodGet, auth: "Bearer " + token, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Token: token})
			req := request{method: tt.method, path: tt.path, body: customerJSON(7), keyID: 7}
			if tt.auth != "" {
				req.header = map[string]string{"Authorization": tt.auth}
			}
			w := do(t, s, req)
			assert.Equal(t, tt.want, w.Code)
			if tt.want == http.StatusUnauthorized {
				assert.Equal(t, int64(1), s.Stats().Unauthorized)
				assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
				assert.NotContains(t, w.Body.String(), token)
				assert.False(t, s.Accepted(7))
			}
		})
	}
}

func TestServeIdempotency(t *testing.T) {
	type step struct {
		id    int64
		key   string // "" sends no Idempotency-Key
		dup   bool
		count int64 // AcceptedCount after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name:  "same key twice",
			steps: []step{{id: 1, key: "goquiz-customer-1", count: 1}, {id: 1, key: "goquiz-customer-1", dup: true, count: 1}},
		},
		{
			name:  "no key falls back to id",
			steps: []step{{id: 2, count: 1}, {id: 2, dup: true, count: 1}},
		},
		{
			name:  "fallback id and its goquiz key are the same key",
			steps: []step{{id: 3, count: 1}, {id: 3, key: "goquiz-customer-3", dup: true, count: 1}},
		},
		{
			name:  "other keys for the same id are new",
			steps: []step{{id: 4, key: "a", count: 1}, {id: 4, key: "b", count: 1}, {id: 4, key: "a", dup: true, count: 1}},
		},
		{
			name:  "same key for another id is a duplicate",
			steps: []step{{id: 5, key: "k", count: 1}, {id: 6, key: "k", dup: true, count: 1}},
		},
		{
			name:  "non-canonical goquiz keys are plain strings",
			steps: []step{{id: 7, key: "goquiz-customer-7", count: 1}, {id: 7, key: "goquiz-customer-07", count: 1}, {id: 7, key: "goquiz-customer-+7", count: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			var wantAccepted, wantDup int64
			for i, st := range tt.steps {
				req := request{body: customerJSON(st.id), noKey: st.key == ""}
				if st.key != "" {
					req.header = map[string]string{"Idempotency-Key": st.key}
				}
				w := do(t, s, req)
				require.Equal(t, http.StatusOK, w.Code, "step %d", i)
				if st.dup {
					wantDup++
					assert.JSONEq(t, `{"status":"duplicate"}`, w.Body.String(), "step %d", i)
				} else {
					wantAccepted++
					assert.JSONEq(t, `{"status":"accepted"}`, w.Body.String(), "step %d", i)
				}
				assert.Equal(t, st.count, s.AcceptedCount(), "step %d", i)
				assert.True(t, s.Accepted(tt.steps[0].id))
			}
			st := s.Stats()
			assert.Equal(t, wantAccepted, st.Accepted)
			assert.Equal(t, wantDup, st.Duplicates)
		})
	}
}

func TestServeStats(t *testing.T) {
	s := New(Config{FailRate: 0})
	postCustomer(t, s, 1)
	postCustomer(t, s, 1)
	do(t, s, request{body: "{}"})
	do(t, s, request{method: http.MethodGet})

	w := do(t, s, request{method: http.MethodGet, path: "/stats"})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))

	var raw map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	assert.ElementsMatch(t,
		[]string{"requests", "accepted", "duplicates", "bad_requests", "unauthorized", "throttled", "admitted", "newer_versions", "out_of_order", "faults", "uptime_seconds"},
		keys(raw))
	assert.ElementsMatch(t, []string{"fail", "rate_limited", "hang", "outage"}, keys(raw["faults"].(map[string]any)))

	var got Stats
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Greater(t, got.UptimeSeconds, 0.0)
	got.UptimeSeconds = 0
	assert.Equal(t, Stats{Requests: 4, Accepted: 1, Duplicates: 1, BadRequests: 2, Admitted: 4}, got)
}

// keys returns the keys of m.
func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestServeFaults(t *testing.T) {
	tests := []struct {
		name           string
		cfg            Config
		want           int
		wantRetryAfter string
		minElapsed     time.Duration
		wantFaults     FaultStats
	}{
		{name: "fail", cfg: Config{FailRate: 1}, want: 500, wantFaults: FaultStats{Fail: 1}},
		{name: "rate limit default retry", cfg: Config{RateLimitRate: 1}, want: 429, wantRetryAfter: "1", wantFaults: FaultStats{RateLimited: 1}},
		{name: "rate limit without Retry-After", cfg: Config{RateLimitRate: 1, RetryAfter: 5 * time.Second, OmitRetryAfter: true}, want: 429, wantFaults: FaultStats{RateLimited: 1}},
		{name: "rate limit rounds retry up", cfg: Config{RateLimitRate: 1, RetryAfter: 2500 * time.Millisecond}, want: 429, wantRetryAfter: "3", wantFaults: FaultStats{RateLimited: 1}},
		{name: "hang", cfg: Config{HangRate: 1, HangFor: 50 * time.Millisecond}, want: 500, minElapsed: 50 * time.Millisecond, wantFaults: FaultStats{Hang: 1}},
		{name: "hang wins over others", cfg: Config{HangRate: 1, HangFor: time.Millisecond, FailRate: 1, RateLimitRate: 1}, want: 500, wantFaults: FaultStats{Hang: 1}},
		{name: "rate limit wins over fail", cfg: Config{RateLimitRate: 1, FailRate: 1}, want: 429, wantRetryAfter: "1", wantFaults: FaultStats{RateLimited: 1}},
		{name: "latency", cfg: Config{Latency: 50 * time.Millisecond}, want: 200, minElapsed: 50 * time.Millisecond},
		{name: "latency with jitter", cfg: Config{Latency: 20 * time.Millisecond, LatencyJitter: 20 * time.Millisecond}, want: 200, minElapsed: 20 * time.Millisecond},
		{name: "no faults at zero rates", cfg: Config{FailRate: 0, RateLimitRate: 0, HangRate: 0}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.cfg)
			start := time.Now()
			w := postCustomer(t, s, 9)
			elapsed := time.Since(start)

			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.wantRetryAfter, w.Header().Get("Retry-After"))
			assert.GreaterOrEqual(t, elapsed, tt.minElapsed)
			st := s.Stats()
			assert.Equal(t, tt.wantFaults, st.Faults)
			assert.Equal(t, tt.want == 200, s.Accepted(9), "a faulted request must not be accepted")
			assert.Equal(t, int64(1), st.Requests)
		})
	}
}

func TestServeHangRespectsCancellation(t *testing.T) {
	s := New(Config{HangRate: 1, HangFor: time.Minute, Latency: 0})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/customers", bytes.NewReader([]byte(customerJSON(1))))
	require.NoError(t, err)
	w := httptest.NewRecorder()

	start := time.Now()
	s.ServeHTTP(w, r)

	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "an abandoned request must not look accepted")
	assert.Equal(t, int64(1), s.Stats().Faults.Hang)
	assert.False(t, s.Accepted(1))
}

func TestServeLatencyRespectsCancellation(t *testing.T) {
	s := New(Config{Latency: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/customers", bytes.NewReader([]byte(customerJSON(1))))
	require.NoError(t, err)
	w := httptest.NewRecorder()

	s.ServeHTTP(w, r)

	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.False(t, s.Accepted(1))
}

func TestServeFaultsAreSeeded(t *testing.T) {
	statuses := func() []int {
		s := New(Config{Seed: 42, FailRate: 0.3, RateLimitRate: 0.3})
		var codes []int
		for id := range int64(100) {
			codes = append(codes, postCustomer(t, s, id+1).Code)
		}
		return codes
	}
	first := statuses()
	assert.Equal(t, first, statuses())
	assert.Contains(t, first, 200)
	assert.Contains(t, first, 500)
	assert.Contains(t, first, 429)
}

// The nth request draws the same faults whatever the requests before it
// drew and however they interleave: two clients compared against the same
// seed meet the same faults.
func TestServeFaultsAreSeededPerRequest(t *testing.T) {
	statuses := func(concurrent bool) map[int]int {
		s := New(Config{Seed: 42, FailRate: 0.3, RateLimitRate: 0.3, LatencyJitter: time.Millisecond})
		codes := make(chan int, 200)
		var wg sync.WaitGroup
		for id := range int64(200) {
			post := func() { codes <- postCustomer(t, s, id+1).Code }
			if !concurrent {
				post()
				continue
			}
			wg.Go(post)
		}
		wg.Wait()
		close(codes)
		counts := map[int]int{}
		for c := range codes {
			counts[c]++
		}
		return counts
	}
	one := statuses(false)
	assert.Equal(t, one, statuses(true))
	assert.Greater(t, one[429], 20)
	assert.Greater(t, one[500], 20)
}
