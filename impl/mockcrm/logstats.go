package mockcrm

import (
	"context"
	"log/slog"
	"math"
	"time"
)

// DefaultLogInterval is the interval of LogStats when none is given.
const DefaultLogInterval = 5 * time.Second

// LogStats logs a summary of the server's counters every interval, only
// when they changed since the last summary, until ctx ends; it then logs a
// last summary if they changed. A zero or negative interval means
// DefaultLogInterval.
func (s *Server) LogStats(ctx context.Context, logger *slog.Logger, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultLogInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()

	var last Stats
	lastAt := s.uptime()
	logIfChanged := func() {
		cur := s.Stats()
		at := s.uptime()
		cur.UptimeSeconds, last.UptimeSeconds = 0, 0
		if cur == last {
			return
		}
		rate := float64(cur.Requests-last.Requests) / (at - lastAt).Seconds()
		logger.LogAttrs(ctx, slog.LevelInfo, "mockcrm stats",
			slog.Int64("requests", cur.Requests),
			slog.Float64("requests_per_second", roundTo(rate, 1)),
			slog.Int64("accepted", cur.Accepted),
			slog.Int64("duplicates", cur.Duplicates),
			slog.Int64("bad_requests", cur.BadRequests),
			slog.Int64("unauthorized", cur.Unauthorized),
			slog.Int64("throttled", cur.Throttled),
			slog.Int64("admitted", cur.Admitted),
			slog.Int64("fail", cur.Faults.Fail),
			slog.Int64("rate_limited", cur.Faults.RateLimited),
			slog.Int64("hang", cur.Faults.Hang),
			slog.Int64("outage", cur.Faults.Outage),
		)
		last, lastAt = cur, at
	}
	for {
		select {
		case <-ctx.Done():
			logIfChanged()
			return
		case <-t.C:
			logIfChanged()
		}
	}
}

// roundTo rounds x to the given number of decimals.
func roundTo(x float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(x*p) / p
}
