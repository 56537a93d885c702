package mockcrm

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Stats are a server's counters, as served by GET /stats. Every request to
// a customer path ends in exactly one of accepted, duplicates,
// bad_requests, unauthorized, throttled or a fault, unless its wait for injected
// latency is cut short. Every authorized one is either throttled or
// admitted.
type Stats struct {
	// Requests counts the requests to customer paths, whatever their
	// method and outcome; requests to /stats are not counted.
	Requests int64 `json:"requests"`
	// Accepted counts the requests answered 200 whose idempotency key was
	// new.
	Accepted int64 `json:"accepted"`
	// Duplicates counts the requests answered 200 whose idempotency key
	// had been accepted before.
	Duplicates int64 `json:"duplicates"`
	// BadRequests counts the requests refused for their method (405), body
	// size (413) or body (400).
	BadRequests int64 `json:"bad_requests"`
	// Unauthorized counts the requests refused for a missing or wrong
	// token (401), /stats included.
	Unauthorized int64 `json:"unauthorized"`
	// Throttled counts the requests refused 429 by the rate limits
	// (Config.RateLimitRPS, Config.RateLimitWindow); the random 429s are
	// Faults.RateLimited.
	Throttled int64 `json:"throttled"`
	// Admitted counts the authorized requests to customer paths the rate
	// limits let through (all of them without a limit), whatever
	// followed: accepted, duplicate, bad request or fault.
	Admitted int64 `json:"admitted"`
	// NewerVersions counts the accepted requests of a customer's version
	// after the first (an Idempotency-Key goquiz-customer-<id>-v<n>):
	// customers sent again after a change.
	NewerVersions int64 `json:"newer_versions"`
	// OutOfOrder counts the accepted requests of a customer's version
	// older than one accepted before: a CRM that got them would keep old
	// values. goquiz never sends one.
	OutOfOrder int64 `json:"out_of_order"`
	// Faults counts the valid requests answered with an injected fault.
	Faults FaultStats `json:"faults"`
	// UptimeSeconds is the time since the server was created.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// HubSpot holds the HubSpot mode's own counters (left out of the
	// JSON in the default mode).
	HubSpot HubSpotStats `json:"hubspot,omitzero"`
}

// FaultStats counts the injected faults by kind.
type FaultStats struct {
	// Fail counts the requests answered 500 at random.
	Fail int64 `json:"fail"`
	// RateLimited counts the requests answered 429 at random
	// (Config.RateLimitRate).
	RateLimited int64 `json:"rate_limited"`
	// Hang counts the requests that hung before being answered 500.
	Hang int64 `json:"hang"`
	// Outage counts the requests answered 503 during a scheduled outage.
	Outage int64 `json:"outage"`
}

// counters are the live counts behind Stats.
type counters struct {
	requests, accepted, duplicates, badRequests, unauthorized, throttled, admitted atomic.Int64
	fail, rateLimited, hang, outage                                                atomic.Int64
}

// Stats returns the server's counters. Each counter is read atomically,
// though not all at the same instant.
func (s *Server) Stats() Stats {
	c := &s.counts
	newer, behind := s.versions.counts()
	return Stats{
		NewerVersions: newer,
		OutOfOrder:    behind,
		Requests:      c.requests.Load(),
		Accepted:      c.accepted.Load(),
		Duplicates:    c.duplicates.Load(),
		BadRequests:   c.badRequests.Load(),
		Unauthorized:  c.unauthorized.Load(),
		Throttled:     c.throttled.Load(),
		Admitted:      c.admitted.Load(),
		Faults: FaultStats{
			Fail:        c.fail.Load(),
			RateLimited: c.rateLimited.Load(),
			Hang:        c.hang.Load(),
			Outage:      c.outage.Load(),
		},
		UptimeSeconds: s.uptime().Seconds(),
		HubSpot:       s.hub.stats(),
	}
}

// Accepted reports whether a customer with this id has been accepted.
func (s *Server) Accepted(id int64) bool {
	return s.ids.has(id)
}

// AcceptedCount returns the number of distinct customer ids accepted. It
// equals Stats().Accepted unless clients sent different idempotency keys
// for the same id.
func (s *Server) AcceptedCount() int64 {
	return s.ids.len()
}

// serveStats answers GET /stats with the counters as JSON.
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.unauthorized(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed, use GET", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.Marshal(s.Stats())
	if err != nil {
		http.Error(w, "cannot encode stats", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// uptime returns the time since the server was created.
func (s *Server) uptime() time.Duration {
	return s.now().Sub(s.start)
}
