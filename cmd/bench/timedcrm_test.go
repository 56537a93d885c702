package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/mockcrm"
)

// TestTimedCRM checks what the pacing matrix reads off its CRM besides
// the mock's counters: the answers 200 by integrator path, and the
// retries sent before the Retry-After of their last refusal.
func TestTimedCRM(t *testing.T) {
	c, err := startTimedCRM(mockcrm.Config{RateLimitWindow: time.Hour, RateLimitWindowMax: 2, RateLimitRPS: 0.001, RateLimitBurst: 4}, 2)
	require.NoError(t, err)
	defer c.close()
	post := func(path string, id int64) int {
		req, err := http.NewRequest(http.MethodPost, c.URL+path, strings.NewReader(
			`{"id":`+strings.Repeat("1", int(id))+`,"first_name":"a","last_name":"b","email":"c","phone":"d"}`))
		require.NoError(t, err)
		req.Header.Set("Idempotency-Key", common.IdempotencyKey(id))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, post("/0", 1))
	assert.Equal(t, http.StatusOK, post("/1", 2))
	assert.Equal(t, http.StatusTooManyRequests, post("/1", 3), "the window is full; no Retry-After")
	assert.Equal(t, http.StatusTooManyRequests, post("/1", 3), "a retry without Retry-After is never early")
	assert.Equal(t, http.StatusTooManyRequests, post("/1", 4), "the bucket is empty: Retry-After: 1")
	assert.Equal(t, http.StatusTooManyRequests, post("/1", 4), "retried at once")
	assert.Equal(t, []int64{1, 1}, c.oks())
	assert.Equal(t, int64(1), c.early.Load())
	assert.Positive(t, c.lastAccept.Load()-c.first.Load())
	assert.Equal(t, 0, c.integrator("/customers"), "a path without an integrator is the first's")
}
