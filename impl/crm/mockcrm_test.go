package crm_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/crm"
	"goquiz/impl/mockcrm"
)

// TestClientAgainstMockCRM checks the client and the mock CRM agree on
// the wire contract, and how the client reports each fault of the mock.
func TestClientAgainstMockCRM(t *testing.T) {
	const token = "e2e-token"
	tests := []struct {
		name           string
		cfg            mockcrm.Config
		clientToken    string
		timeout        time.Duration
		wantReason     string // "" for success
		wantStatus     int
		wantRetryAfter time.Duration
	}{
		{name: "accepted", cfg: mockcrm.Config{Token: token}, clientToken: token},
		{name: "no token configured", cfg: mockcrm.Config{}},
		{name: "wrong token", cfg: mockcrm.Config{Token: token}, clientToken: "nope", wantReason: "status 401", wantStatus: 401},
		{name: "fail", cfg: mockcrm.Config{FailRate: 1}, wantReason: "status 500", wantStatus: 500},
		{name: "rate limited", cfg: mockcrm.Config{RateLimitRate: 1, RetryAfter: 2 * time.Second}, wantReason: "status 429", wantStatus: 429, wantRetryAfter: 2 * time.Second},
		{name: "outage", cfg: mockcrm.Config{OutageEvery: time.Nanosecond, OutageFor: time.Hour}, wantReason: "status 503", wantStatus: 503, wantRetryAfter: time.Second},
		{name: "hang past timeout", cfg: mockcrm.Config{HangRate: 1, HangFor: time.Minute}, timeout: 100 * time.Millisecond, wantReason: "timeout"},
		{name: "latency past timeout", cfg: mockcrm.Config{Latency: time.Minute}, timeout: 100 * time.Millisecond, wantReason: "timeout"},
	}
	customers := []common.Customer{
		{ID: 1, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44"},
		{ID: math.MaxInt64, FirstName: "Zoë \"Z\"", LastName: "O\\Brien\t\x00", Email: "东京@例え.jp", Phone: "\u2028"},
		{ID: 3, FirstName: "\xff\xfe"},
		{ID: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mock := mockcrm.New(tt.cfg)
			srv := httptest.NewServer(mock)
			defer srv.Close()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c, err := crm.New(srv.URL+"/api/customers", crm.Options{Token: tt.clientToken, Timeout: timeout})
			require.NoError(t, err)
			defer c.CloseIdleConnections()

			for _, cust := range customers {
				err := errOf(c.Publish(context.Background(), cust))
				if tt.wantReason == "" {
					require.NoError(t, err)
					assert.True(t, mock.Accepted(cust.ID))
					continue
				}
				var pe *common.PublishError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.wantReason, pe.Reason())
				assert.Equal(t, tt.wantStatus, pe.Status)
				assert.Equal(t, tt.wantRetryAfter, pe.Wait())
				assert.False(t, mock.Accepted(cust.ID))
			}
			if tt.wantReason == "" {
				// Publishing again is idempotent.
				require.NoError(t, errOf(c.Publish(context.Background(), customers[0])))
				st := mock.Stats()
				assert.Equal(t, int64(len(customers)), st.Accepted)
				assert.Equal(t, int64(1), st.Duplicates)
				assert.Zero(t, st.BadRequests)
			}
		})
	}
}

// TestClientAgainstMockCRMStatsPath makes sure a misconfigured endpoint
// pointing at /stats is a failure, not a delivery.
func TestClientAgainstMockCRMStatsPath(t *testing.T) {
	srv := httptest.NewServer(mockcrm.New(mockcrm.Config{}))
	defer srv.Close()
	c, err := crm.New(srv.URL+mockcrm.StatsPath, crm.Options{})
	require.NoError(t, err)
	err = errOf(c.Publish(context.Background(), common.Customer{ID: 1}))
	var pe *common.PublishError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusMethodNotAllowed, pe.Status)
}

// errOf returns the error of a Publish.
func errOf(_ common.Budget, err error) error { return err }
