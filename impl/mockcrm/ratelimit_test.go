package mockcrm

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeRateLimit drives the token bucket on a fake clock: RPS 10 with
// a burst of 2 lets two requests through at once, refuses the third with
// 429 and "Retry-After: 1" (whatever the random 429s' RetryAfter), and
// lets one more through every 100ms.
func TestServeRateLimit(t *testing.T) {
	s := New(Config{RateLimitRPS: 10, RateLimitBurst: 2, RetryAfter: 3 * time.Second})
	start := s.start
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, http.StatusOK},
		{0, http.StatusOK},
		{0, http.StatusTooManyRequests},
		{50 * time.Millisecond, http.StatusTooManyRequests},
		{100 * time.Millisecond, http.StatusOK},
		{100 * time.Millisecond, http.StatusTooManyRequests},
		{time.Second, http.StatusOK}, // the bucket refilled to its burst
		{time.Second, http.StatusOK},
		{time.Second, http.StatusTooManyRequests},
	}
	var ok, refused int64
	for i, st := range steps {
		s.now = func() time.Time { return start.Add(st.at) }
		w := postCustomer(t, s, int64(i+1))
		require.Equal(t, st.want, w.Code, "step %d at %s", i, st.at)
		if st.want == http.StatusTooManyRequests {
			refused++
			assert.Equal(t, "1", w.Header().Get("Retry-After"))
			assert.False(t, s.Accepted(int64(i+1)))
		} else {
			ok++
		}
	}
	got := s.Stats()
	assert.Equal(t, ok, got.Accepted)
	assert.Equal(t, refused, got.Throttled)
	assert.Equal(t, ok, got.Admitted)
	assert.Equal(t, FaultStats{}, got.Faults, "the rate limit's refusals are not the random 429s")
	assert.Equal(t, int64(len(steps)), got.Requests)
}

// TestServeRateLimitCountsEveryRequest checks that bad requests take a
// token too, and that unauthorized ones do not.
func TestServeRateLimitCountsEveryRequest(t *testing.T) {
	s := New(Config{RateLimitRPS: 1, RateLimitBurst: 1, Token: "t"})
	s.now = func() time.Time { return s.start }
	assert.Equal(t, http.StatusUnauthorized, do(t, s, request{body: customerJSON(1), keyID: 1}).Code)
	auth := map[string]string{"Authorization": "Bearer t"}
	assert.Equal(t, http.StatusBadRequest, do(t, s, request{body: "{}", header: auth}).Code)
	assert.Equal(t, http.StatusTooManyRequests, do(t, s, request{body: customerJSON(1), keyID: 1, header: auth}).Code)
	assert.Equal(t, int64(1), s.Stats().Throttled)
	assert.Equal(t, int64(1), s.Stats().Admitted, "the bad request passed the limit; the unauthorized one did not reach it")
}

func TestRateLimitConfig(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantBurst int
		wantErr   string
	}{
		{name: "off", cfg: Config{}, wantBurst: 1},
		{name: "default burst is a tenth", cfg: Config{RateLimitRPS: 500}, wantBurst: 50},
		{name: "default burst at least 1", cfg: Config{RateLimitRPS: 2.5}, wantBurst: 1},
		{name: "burst given", cfg: Config{RateLimitRPS: 500, RateLimitBurst: 7}, wantBurst: 7},
		{name: "negative rps", cfg: Config{RateLimitRPS: -1}, wantErr: "rate limit -1"},
		{name: "NaN rps", cfg: Config{RateLimitRPS: math.NaN()}, wantErr: "rate limit NaN"},
		{name: "infinite rps", cfg: Config{RateLimitRPS: math.Inf(1)}, wantErr: "rate limit +Inf"},
		{name: "negative burst", cfg: Config{RateLimitRPS: 1, RateLimitBurst: -1}, wantErr: "burst is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantBurst, tt.cfg.withDefaults().RateLimitBurst)
		})
	}
}
