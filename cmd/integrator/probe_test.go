package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// TestPoisonRecordsAtTheHeadDoNotStallTheRest is the audit's case: the
// first 100 of 2,000 records are answered 500 every time, which makes the
// CRM look down; the probes must find the good records, and the 1,900 be
// delivered once each, with the integrator's default retry delays and
// probe intervals (one probe every 2 s at most).
func TestPoisonRecordsAtTheHeadDoNotStallTheRest(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 2000)
	rec, _ := newRecorder(mockcrm.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var c struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(body, &c) == nil && c.ID >= 1 && c.ID <= 100 {
			http.Error(w, "poison", http.StatusInternalServerError)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec.ServeHTTP(w, req)
	}))
	defer srv.Close()
	p := testbin.Start(t, integrator(t), []string{
		"DSN=" + dsn,
		"API_ENDPOINT=" + srv.URL + "/customers",
		"WORKERS=8",
		"POLL_INTERVAL=1s",
		"LEASE=3s",
	})
	start := time.Now()
	ok := assert.Eventually(t, func() bool { return rec.accepted() == 1900 }, 60*time.Second, 100*time.Millisecond)
	t.Logf("good records accepted: %d of 1900 after %.1f s", rec.accepted(), time.Since(start).Seconds())
	stopGracefully(t, p)
	require.True(t, ok, p.Output())
	customers, resent := rec.check(t)
	assert.Equal(t, 1900, customers)
	assert.Zero(t, resent, "every good record is accepted once")
	assert.Equal(t, 1900, countState(t, dsn, "sent"))
}
