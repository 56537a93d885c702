package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"goquiz/internal/promtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/metrics"
	"goquiz/impl/mockcrm"
)

func TestDeliveryMetricsFollowTheObserverCalls(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewDelivery(reg)
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()

	before := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 0.0, before["goquiz_records_delivered_total"])
	assert.Equal(t, 1.0, before["goquiz_crm_up"])
	assert.Equal(t, 0.0, before["goquiz_request_duration_seconds_count"])
	assert.Contains(t, before, `goquiz_delivery_retries_total{reason="timeout"}`)
	assert.Contains(t, before, "go_goroutines", "Go runtime metrics")

	m.Attempt(30*time.Millisecond, nil)
	m.Attempt(20*time.Millisecond, common.StatusError(500, 0))
	m.Attempt(2*time.Second, common.TimeoutError(nil))
	m.Attempt(time.Millisecond, common.StatusError(500, 0))
	m.Settled(1, 3)
	m.CRMDown(true)

	after := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 1.0, after["goquiz_records_delivered_total"])
	assert.Equal(t, 2.0, after[`goquiz_delivery_retries_total{reason="status_500"}`])
	assert.Equal(t, 1.0, after[`goquiz_delivery_retries_total{reason="timeout"}`])
	assert.Equal(t, 0.0, after[`goquiz_delivery_retries_total{reason="connection"}`])
	assert.Equal(t, 4.0, after["goquiz_request_duration_seconds_count"])
	assert.InDelta(t, 2.051, after["goquiz_request_duration_seconds_sum"], 1e-9)
	assert.Equal(t, 2.0, after[`goquiz_request_duration_seconds_bucket{le="0.025"}`])
	assert.Equal(t, 0.0, after["goquiz_crm_up"])

	m.CRMDown(false)
	assert.Equal(t, 1.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"])
	m.SetCRMUp(false)
	assert.Equal(t, 0.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"])
	m.Attempt(time.Millisecond, nil)
	assert.Equal(t, 1.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"], "a delivery shows the CRM up")

	m.CRMDown(true)
	m.Attempt(time.Millisecond, nil)
	assert.Equal(t, 0.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"], "a late success does not end what the Deliverer takes as down")
	m.CRMDown(false)
	m.SetCRMUp(false)
	m.Attempt(time.Millisecond, common.StatusError(500, 0))
	assert.Equal(t, 0.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"], "a 5xx is no sign of a CRM up")
	m.Attempt(time.Millisecond, common.StatusError(429, time.Second))
	assert.Equal(t, 1.0, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_crm_up"], "a 429 is an answer")
}

func TestRejectedByStatus(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewDelivery(reg, 400, 409, 422)
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()
	before := promtest.Scrape(t, srv.URL+"/metrics")
	for _, status := range []string{"400", "409", "422"} {
		assert.Contains(t, before, `goquiz_records_rejected_total{status="`+status+`"}`, "each status of GIVE_UP_ON at 0 from the start")
	}
	m.Rejected(400, 3)
	m.Rejected(409, 1)
	m.Rejected(400, 2)
	got := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 5.0, got[`goquiz_records_rejected_total{status="400"}`])
	assert.Equal(t, 1.0, got[`goquiz_records_rejected_total{status="409"}`])
	assert.Equal(t, 0.0, got[`goquiz_records_rejected_total{status="422"}`])
}

func TestPaceGauges(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewDelivery(reg)
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()

	before := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 0.0, before["goquiz_delivery_rate_limit"])
	assert.Equal(t, 0.0, before["goquiz_delivery_in_flight_limit"])
	assert.Equal(t, 0.0, before["goquiz_delivery_paused_until_seconds"])
	m.Quota(time.Unix(1800000000, 500e6))
	assert.Equal(t, 1800000000.5, promtest.Scrape(t, srv.URL+"/metrics")["goquiz_delivery_paused_until_seconds"])
	m.Pace(487.5, 8)
	after := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 487.5, after["goquiz_delivery_rate_limit"])
	assert.Equal(t, 8.0, after["goquiz_delivery_in_flight_limit"])
}

// fakeBacklog is a BacklogReader with a set answer.
type fakeBacklog struct {
	b   common.Backlog
	err error
}

func (f *fakeBacklog) Backlog(ctx context.Context) (common.Backlog, error) { return f.b, f.err }

func TestBacklogIsReadOnEveryScrape(t *testing.T) {
	store := &fakeBacklog{b: common.Backlog{Pending: 5, InFlight: 4, WaitingRetry: 3, Sent: 2, Failed: 1, NewerVersion: 6, Rejected: 7, OldestUndelivered: 90 * time.Second}}
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewBacklog(store, time.Second))
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()

	got := promtest.Scrape(t, srv.URL+"/metrics")
	for state, want := range map[string]float64{"pending": 5, "in_flight": 4, "waiting_retry": 3, "sent": 2, "failed": 1, "rejected": 7} {
		assert.Equal(t, want, got[`goquiz_records{state="`+state+`"}`], state)
	}
	assert.Equal(t, 6.0, got["goquiz_records_newer_version"])
	assert.Equal(t, 90.0, got["goquiz_oldest_undelivered_age_seconds"])
	assert.Equal(t, 1.0, got["goquiz_store_up"])

	store.err = errors.New("connection refused")
	got = promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 0.0, got["goquiz_store_up"])
	assert.NotContains(t, got, `goquiz_records{state="pending"}`, "no stale backlog")
	assert.Contains(t, got, "go_goroutines", "the rest of the scrape is served")
}

func TestMockCRMCounters(t *testing.T) {
	crm := mockcrm.New(mockcrm.Config{Seed: 1})
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewMockCRM(crm.Stats))
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()

	before := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 0.0, before["goquiz_mockcrm_requests_total"])
	assert.Equal(t, 0.0, before[`goquiz_mockcrm_faults_total{kind="fail"}`])

	post := func(id int64, key string) {
		body := fmt.Sprintf(`{"id":%d,"first_name":"a","last_name":"b","email":"c","phone":"d"}`, id)
		req := httptest.NewRequest(http.MethodPost, "/customers", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		crm.ServeHTTP(httptest.NewRecorder(), req)
	}
	post(1, common.IdempotencyKey(1))
	post(2, common.IdempotencyKey(2))
	post(1, common.IdempotencyKey(1))
	crm.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/customers", nil))

	after := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 4.0, after["goquiz_mockcrm_requests_total"])
	assert.Equal(t, 2.0, after["goquiz_mockcrm_accepted_total"])
	assert.Equal(t, 1.0, after["goquiz_mockcrm_duplicates_total"])
	assert.Equal(t, 1.0, after["goquiz_mockcrm_bad_requests_total"])
	assert.Equal(t, 0.0, after["goquiz_mockcrm_unauthorized_total"])
	for _, kind := range []string{"fail", "rate_limited", "hang", "outage"} {
		assert.Contains(t, after, `goquiz_mockcrm_faults_total{kind="`+kind+`"}`)
	}
}

// TestMockCRMThrottled checks that the rate limit's refusals are counted
// apart from the random 429s.
func TestMockCRMThrottled(t *testing.T) {
	crm := mockcrm.New(mockcrm.Config{RateLimitRPS: 0.001, RateLimitBurst: 1}) // one token, the next in 1000s
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewMockCRM(crm.Stats))
	srv := httptest.NewServer(metrics.Handler(reg, nil, 0))
	defer srv.Close()
	for id := range int64(3) {
		body := fmt.Sprintf(`{"id":%d,"first_name":"a","last_name":"b","email":"c","phone":"d"}`, id+1)
		req := httptest.NewRequest(http.MethodPost, "/customers", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", common.IdempotencyKey(id+1))
		crm.ServeHTTP(httptest.NewRecorder(), req)
	}
	got := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, 1.0, got["goquiz_mockcrm_accepted_total"])
	assert.Equal(t, 2.0, got["goquiz_mockcrm_throttled_total"])
	assert.Equal(t, 1.0, got["goquiz_mockcrm_admitted_total"])
	assert.Equal(t, 0.0, got[`goquiz_mockcrm_faults_total{kind="rate_limited"}`])
}

func TestHealthAndReadiness(t *testing.T) {
	tests := []struct {
		name      string
		ready     metrics.ReadyFunc
		wantCode  int
		wantReady string
	}{
		{"no readiness check", nil, http.StatusOK, "ready\n"},
		{"ready", func(context.Context) error { return nil }, http.StatusOK, "ready\n"},
		{"not ready", func(context.Context) error { return errors.New("database unreachable:\nconnection refused") },
			http.StatusServiceUnavailable, "not ready: database unreachable: connection refused\n"},
		{"check times out", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			http.StatusServiceUnavailable, "not ready: context deadline exceeded\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(metrics.Handler(metrics.NewRegistry(), tt.ready, 100*time.Millisecond))
			defer srv.Close()
			code, body := get(t, srv.URL+"/healthz")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "ok\n", body)
			code, body = get(t, srv.URL+"/readyz")
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantReady, body)
		})
	}
}

func TestServer(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := metrics.Listen("127.0.0.1:0", metrics.Handler(metrics.NewRegistry(), nil, 0), log)
	require.NoError(t, err)
	code, _ := get(t, "http://"+s.Addr()+"/healthz")
	assert.Equal(t, http.StatusOK, code)

	_, err = metrics.Listen(s.Addr(), http.NotFoundHandler(), log)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Contains(t, err.Error(), "set METRICS_LISTEN")

	require.NoError(t, s.Close())
	_, err = http.Get("http://" + s.Addr() + "/healthz")
	assert.Error(t, err, "closed")
}
