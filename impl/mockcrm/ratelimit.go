package mockcrm

import (
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// newBucket returns the token bucket of a real rate limit of rps requests
// per second with room for burst at once, or nil when rps is not
// positive (no limit).
func newBucket(rps float64, burst int) *rate.Limiter {
	if rps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(rps), max(burst, 1))
}

// defaultBurst is the burst of a rate limit of rps when none is given: a
// tenth of a second's worth, at least 1.
func defaultBurst(rps float64) int {
	return max(int(rps/10), 1)
}

// throttle answers a request past the configured rate limit 429 with
// "Retry-After: 1" and reports whether it did. Every authorized request
// to a customer path takes a token, whatever it holds, as an API gateway
// counts it before the API sees it.
func (s *Server) throttle(w http.ResponseWriter, now time.Time) bool {
	if s.bucket == nil || s.bucket.AllowN(now, 1) {
		return false
	}
	s.counts.throttled.Add(1)
	w.Header().Set("Retry-After", "1")
	http.Error(w, "rate limit exceeded", http.StatusTooManyRequests)
	return true
}
