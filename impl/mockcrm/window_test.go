package mockcrm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// TestServeFixedWindow drives a window of 3 requests per second on a fake
// clock: the fourth request of a window is refused 429 with no
// Retry-After, and the next window lets three through again, however many
// were refused before.
func TestServeFixedWindow(t *testing.T) {
	s := New(Config{RateLimitWindow: time.Second, RateLimitWindowMax: 3})
	start := s.start
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, http.StatusOK},
		{100 * time.Millisecond, http.StatusOK},
		{999 * time.Millisecond, http.StatusOK},
		{999 * time.Millisecond, http.StatusTooManyRequests},
		{time.Second, http.StatusOK}, // a new window
		{1500 * time.Millisecond, http.StatusOK},
		{1500 * time.Millisecond, http.StatusOK},
		{1600 * time.Millisecond, http.StatusTooManyRequests},
		{1700 * time.Millisecond, http.StatusTooManyRequests},
		{3200 * time.Millisecond, http.StatusOK}, // a window later, not the next
	}
	var ok, refused int64
	for i, st := range steps {
		s.now = func() time.Time { return start.Add(st.at) }
		w := postCustomer(t, s, int64(i+1))
		require.Equal(t, st.want, w.Code, "step %d at %s", i, st.at)
		assert.Empty(t, w.Header().Get("Retry-After"), "step %d", i)
		if st.want == http.StatusTooManyRequests {
			refused++
		} else {
			ok++
		}
	}
	got := s.Stats()
	assert.Equal(t, ok, got.Accepted)
	assert.Equal(t, refused, got.Throttled)
	assert.Equal(t, ok, got.Admitted)
	assert.Equal(t, FaultStats{}, got.Faults, "the window's refusals are not the random 429s")
}

// TestServeWindowAndBucket checks that a request must pass both limits,
// and that one the bucket refuses takes no place in the window.
func TestServeWindowAndBucket(t *testing.T) {
	s := New(Config{RateLimitRPS: 1, RateLimitBurst: 2, RateLimitWindow: time.Minute, RateLimitWindowMax: 2})
	s.now = func() time.Time { return s.start }
	codes := []int{postCustomer(t, s, 1).Code, postCustomer(t, s, 2).Code, postCustomer(t, s, 3).Code}
	assert.Equal(t, []int{200, 200, 429}, codes)
	s.now = func() time.Time { return s.start.Add(2 * time.Second) } // the bucket refilled, not the window
	w := postCustomer(t, s, 4)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Empty(t, w.Header().Get("Retry-After"), "refused by the window")
	st := s.Stats()
	assert.Equal(t, int64(2), st.Throttled)
	assert.Equal(t, int64(2), st.Admitted)
}

func TestFixedWindowConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "off", cfg: Config{}},
		{name: "on", cfg: Config{RateLimitWindow: 10 * time.Second, RateLimitWindowMax: 150}},
		{name: "window without max", cfg: Config{RateLimitWindow: time.Second}, wantErr: "needs both"},
		{name: "max without window", cfg: Config{RateLimitWindowMax: 5}, wantErr: "needs both"},
		{name: "negative window", cfg: Config{RateLimitWindow: -time.Second, RateLimitWindowMax: 5}, wantErr: "rate limit window -1s is negative"},
		{name: "negative max", cfg: Config{RateLimitWindow: time.Second, RateLimitWindowMax: -1}, wantErr: "window max is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestMatrixShapesOverHTTP serves the shapes the pacing matrix adds over
// real HTTP: the window's 429s and the random 429s without Retry-After
// carry no Retry-After and no budget header, and /stats tells the
// limit's refusals from the random 429s, with the admitted requests.
func TestMatrixShapesOverHTTP(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		wantCodes    map[int]int
		wantThrottle int64
		wantRandom   int64
	}{
		{name: "fixed window", cfg: Config{RateLimitWindow: time.Hour, RateLimitWindowMax: 4},
			wantCodes: map[int]int{200: 4, 429: 6}, wantThrottle: 6},
		{name: "random 429 without Retry-After", cfg: Config{RateLimitRate: 1, OmitRetryAfter: true},
			wantCodes: map[int]int{429: 10}, wantRandom: 10},
		{name: "window and random 429s", cfg: Config{RateLimitWindow: time.Hour, RateLimitWindowMax: 4, RateLimitRate: 1, OmitRetryAfter: true},
			wantCodes: map[int]int{429: 10}, wantThrottle: 6, wantRandom: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Token = "tok"
			srv := httptest.NewServer(New(tt.cfg))
			defer srv.Close()
			ctx := context.Background()
			codes := map[int]int{}
			for id := range int64(10) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/customers", strings.NewReader(customerJSON(id+1)))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer tok")
				req.Header.Set("Idempotency-Key", common.IdempotencyKey(id+1))
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				codes[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests {
					for _, h := range []string{"Retry-After", "RateLimit", "RateLimit-Policy", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
						assert.Empty(t, resp.Header.Get(h), h)
					}
				}
			}
			assert.Equal(t, tt.wantCodes, codes)
			st, err := FetchStats(ctx, srv.Client(), srv.URL, "tok")
			require.NoError(t, err)
			assert.Equal(t, int64(10), st.Requests)
			assert.Equal(t, tt.wantThrottle, st.Throttled)
			assert.Equal(t, tt.wantRandom, st.Faults.RateLimited)
			assert.Equal(t, st.Requests-st.Throttled, st.Admitted, "admitted: every authorized request the limit let through")
			assert.Equal(t, int64(codes[200]), st.Accepted)
		})
	}
}
