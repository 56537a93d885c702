package metrics_test

import (
	"context"
	"fmt"
	"goquiz/internal/promtest"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/crm"
	"goquiz/impl/metrics"
	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMetricsChangeAsRecordsFlow delivers records from a real database to
// the mock CRM and scrapes the integrator's metrics before and after.
func TestMetricsChangeAsRecordsFlow(t *testing.T) {
	const n = 300
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	chunk := make([]common.Customer, n)
	for i := range chunk {
		chunk[i] = common.Customer{ID: int64(i + 1), FirstName: "f", LastName: "l", Email: fmt.Sprintf("c%d@example.com", i+1), Phone: "555"}
	}
	_, err = db.Writer().WriteChunk(ctx, chunk)
	require.NoError(t, err)

	mock := mockcrm.New(mockcrm.Config{FailRate: 0.2, Seed: 5})
	crmSrv := httptest.NewServer(mock)
	defer crmSrv.Close()
	pub, err := crm.New(crmSrv.URL+"/customers", crm.Options{Timeout: 2 * time.Second, MaxConns: 4})
	require.NoError(t, err)

	reg := metrics.NewRegistry()
	obs := metrics.NewDelivery(reg)
	reg.MustRegister(metrics.NewBacklog(db, 2*time.Second))
	srv := httptest.NewServer(metrics.Handler(reg, db.Ping, 0))
	defer srv.Close()

	before := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, float64(n), before[`goquiz_records{state="pending"}`])
	assert.Equal(t, 0.0, before[`goquiz_records{state="sent"}`])
	assert.Greater(t, before["goquiz_oldest_undelivered_age_seconds"], 0.0)
	assert.Equal(t, 0.0, before["goquiz_records_delivered_total"])
	assert.Equal(t, 0.0, before["goquiz_request_duration_seconds_count"])
	code, _ := get(t, srv.URL+"/readyz")
	assert.Equal(t, 200, code)

	d := common.NewDeliverer(db.Queue("metrics-test"), pub, common.DeliverConfig{
		Workers:        4,
		PollInterval:   100 * time.Millisecond,
		RetryDelay:     5 * time.Millisecond,
		RetryMaxDelay:  20 * time.Millisecond,
		RequestTimeout: 2 * time.Second,
		Lease:          5 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observer:       obs,
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	require.Eventually(t, func() bool {
		return promtest.Scrape(t, srv.URL+"/metrics")["goquiz_records_delivered_total"] == n
	}, 30*time.Second, 50*time.Millisecond)
	stop()
	require.NoError(t, <-done)

	after := promtest.Scrape(t, srv.URL+"/metrics")
	assert.Equal(t, float64(n), after[`goquiz_records{state="sent"}`])
	for _, state := range []string{"pending", "in_flight", "waiting_retry", "failed"} {
		assert.Equal(t, 0.0, after[`goquiz_records{state="`+state+`"}`], state)
	}
	assert.Equal(t, 0.0, after["goquiz_oldest_undelivered_age_seconds"])
	st := mock.Stats()
	assert.Equal(t, float64(st.Requests), after["goquiz_request_duration_seconds_count"])
	assert.Equal(t, float64(st.Faults.Fail), after[`goquiz_delivery_retries_total{reason="status_500"}`])
	assert.Positive(t, st.Faults.Fail)
	assert.Equal(t, 1.0, after["goquiz_crm_up"])
}
