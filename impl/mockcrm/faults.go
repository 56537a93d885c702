package mockcrm

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// lockedRand is a random source safe for concurrent use, and the seed of
// each request's own draws (see request).
type lockedRand struct {
	mu   sync.Mutex
	r    *rand.Rand
	seed uint64
	n    atomic.Uint64 // requests drawn for so far
}

// newLockedRand returns a source seeded with seed, or randomly when seed
// is zero.
func newLockedRand(seed uint64) *lockedRand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)), seed: seed}
}

// request returns the draws of the next request, in the order requests
// arrive: the nth request of two servers of the same seed draws the same
// latency and faults, however the requests interleave. A benchmark
// comparing two clients against the same seed so compares them on the
// same faults, not on two samples of them (2% of requests hanging for
// seconds made two runs of the same client differ by 10% and more).
func (l *lockedRand) request() draws {
	n := l.n.Add(1)
	return draws{rand.New(rand.NewPCG(l.seed, n))}
}

// draws are one request's random draws.
type draws struct{ r *rand.Rand }

// chance reports true with probability p; never when p <= 0 and always
// when p >= 1. It draws once whatever p, so that the draws after it do
// not depend on p.
func (d draws) chance(p float64) bool { return d.r.Float64() < p }

// duration returns a random duration from 0 to upTo inclusive.
func (d draws) duration(upTo time.Duration) time.Duration {
	return time.Duration(d.r.Int64N(int64(max(upTo, 0)) + 1))
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
	draw := s.rng.request()
	if d := s.cfg.Latency + draw.duration(s.cfg.LatencyJitter); d > 0 {
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
	case draw.chance(s.cfg.HangRate):
		s.counts.hang.Add(1)
		if !sleep(r.Context(), s.cfg.HangFor) {
			abandoned(w)
			return true
		}
		http.Error(w, "hung", http.StatusInternalServerError)
	case draw.chance(s.cfg.RateLimitRate):
		s.counts.rateLimited.Add(1)
		if !s.cfg.OmitRetryAfter {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		http.Error(w, "rate limited", http.StatusTooManyRequests)
	case draw.chance(s.cfg.FailRate):
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
