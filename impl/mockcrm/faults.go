package mockcrm

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// lockedRand is a random source safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// newLockedRand returns a source seeded with seed, or randomly when seed
// is zero.
func newLockedRand(seed uint64) *lockedRand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))}
}

// chance reports true with probability p; never when p <= 0 and always
// when p >= 1.
func (l *lockedRand) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64() < p
}

// duration returns a random duration from 0 to d inclusive.
func (l *lockedRand) duration(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.r.Int64N(int64(d) + 1))
}

// inOutage reports whether the outage schedule of cfg has the server down
// at elapsed time since its start: for OutageFor at the start of each
// OutageEvery period but the first.
func inOutage(cfg Config, elapsed time.Duration) bool {
	if cfg.OutageEvery <= 0 || cfg.OutageFor <= 0 || elapsed < cfg.OutageEvery {
		return false
	}
	return elapsed%cfg.OutageEvery < cfg.OutageFor
}

// injectFault delays a valid request and may answer it with a fault
// instead of accepting it; it reports whether it answered. Faults are
// tried in this order: outage, hang, rate limit, failure, each probable
// fault drawn independently.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	if d := s.cfg.Latency + s.rng.duration(s.cfg.LatencyJitter); d > 0 {
		if !sleep(r.Context(), d) {
			abandoned(w)
			return true
		}
	}
	switch {
	case inOutage(s.cfg, s.uptime()):
		s.counts.outage.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "outage", http.StatusServiceUnavailable)
	case s.rng.chance(s.cfg.HangRate):
		s.counts.hang.Add(1)
		if !sleep(r.Context(), s.cfg.HangFor) {
			abandoned(w)
			return true
		}
		http.Error(w, "hung", http.StatusInternalServerError)
	case s.rng.chance(s.cfg.RateLimitRate):
		s.counts.rateLimited.Add(1)
		if !s.cfg.OmitRetryAfter {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		http.Error(w, "rate limited", http.StatusTooManyRequests)
	case s.rng.chance(s.cfg.FailRate):
		s.counts.fail.Add(1)
		http.Error(w, "injected failure", http.StatusInternalServerError)
	default:
		return false
	}
	return true
}

// retryAfterSeconds formats d as a Retry-After value: whole seconds,
// rounded up.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// sleep waits for d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// abandoned answers a request whose wait was cut short, by the client
// leaving or the server shutting down, so that it is never mistaken for a
// success.
func abandoned(w http.ResponseWriter) {
	http.Error(w, "request abandoned", http.StatusServiceUnavailable)
}
