package mockcrm

import (
	"net/http"
	"sync"
	"time"
)

// fixedWindow is a fixed window limit: at most max requests in each
// window of length size, the windows counted from start.
type fixedWindow struct {
	size  time.Duration
	max   int
	start time.Time

	mu     sync.Mutex
	index  int64 // the window count is of
	admits int   // requests let through in window index
}

// newFixedWindow returns the limit of max requests per window from start,
// or nil when either is not positive (no limit).
func newFixedWindow(size time.Duration, max int, start time.Time) *fixedWindow {
	if size <= 0 || max <= 0 {
		return nil
	}
	return &fixedWindow{size: size, max: max, start: start}
}

// allow reports whether a request at now fits its window, and counts it
// when it does.
func (f *fixedWindow) allow(now time.Time) bool {
	i := int64(max(now.Sub(f.start), 0) / f.size)
	f.mu.Lock()
	defer f.mu.Unlock()
	if i != f.index {
		f.index, f.admits = i, 0
	}
	if f.admits >= f.max {
		return false
	}
	f.admits++
	return true
}

// windowFull answers a request past the fixed window limit 429, with no
// Retry-After and no budget header, and reports whether it did.
func (s *Server) windowFull(w http.ResponseWriter, now time.Time) bool {
	if s.window == nil || s.window.allow(now) {
		return false
	}
	s.counts.throttled.Add(1)
	http.Error(w, "rate limit exceeded", http.StatusTooManyRequests)
	return true
}
