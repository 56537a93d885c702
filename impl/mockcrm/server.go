package mockcrm

import (
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// StatsPath is the path of the statistics endpoint; every other path
// accepts customers.
const StatsPath = "/stats"

// Answers of accepted requests.
var (
	acceptedBody  = []byte(`{"status":"accepted"}` + "\n")
	duplicateBody = []byte(`{"status":"duplicate"}` + "\n")
)

// Server is the mock CRM, an http.Handler safe for concurrent use.
type Server struct {
	cfg        Config
	start      time.Time
	now        func() time.Time
	token      []byte // nil when no token is required
	retryAfter string
	rng        *lockedRand
	bucket     *rate.Limiter // RateLimitRPS; nil when unlimited
	window     *fixedWindow  // RateLimitWindow; nil when unlimited

	keys     *keySet
	ids      *idSet
	versions *versionLog
	counts   counters

	hub *hubSpot // the HubSpot mode's state; nil in the default mode
}

// New returns a server configured by cfg, with its zero fields set to
// their defaults. It does not check cfg: see Config.Validate. The outage
// schedule starts now.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	start := time.Now()
	s := &Server{
		cfg:        cfg,
		start:      start,
		now:        time.Now,
		retryAfter: retryAfterSeconds(cfg.RetryAfter),
		rng:        newLockedRand(cfg.Seed),
		bucket:     newBucket(cfg.RateLimitRPS, cfg.RateLimitBurst),
		window:     newFixedWindow(cfg.RateLimitWindow, cfg.RateLimitWindowMax, start),
		keys:       newKeySet(),
		ids:        newIDSet(),
		versions:   newVersionLog(),
	}
	if cfg.Token != "" {
		s.token = []byte(cfg.Token)
	}
	s.hub = newHubSpot(cfg)
	return s
}

// ServeHTTP serves GET /stats and accepts customers POSTed to any other
// path, or, in the HubSpot mode, serves HubSpot's contacts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath {
		s.serveStats(w, r)
		return
	}
	if s.hub != nil {
		s.serveHubSpot(w, r)
		return
	}
	s.serveCustomer(w, r)
}

// admit counts a request and tells whether it may go on: false when it
// was answered 401 without the token, or 429 by the rate limit or by
// limit, the limit of the API served (which answers when it refuses).
// A request that may go on is counted as admitted, in either API.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, limit func(w http.ResponseWriter, now time.Time) bool) bool {
	s.counts.requests.Add(1)
	if !s.authorized(r) {
		s.unauthorized(w)
		return false
	}
	now := s.now()
	if s.throttle(w, now) || limit(w, now) {
		return false
	}
	s.counts.admitted.Add(1)
	return true
}

// serveCustomer checks, possibly faults, and accepts one customer.
func (s *Server) serveCustomer(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.windowFull) {
		return
	}
	if r.Method != http.MethodPost {
		s.counts.badRequests.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed, use POST", http.StatusMethodNotAllowed)
		return
	}
	body, status, err := s.readBody(w, r)
	if err != nil {
		s.counts.badRequests.Add(1)
		http.Error(w, err.Error(), status)
		return
	}
	c, err := decodeCustomer(body)
	if err != nil {
		s.counts.badRequests.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.injectFault(w, r) {
		return
	}

	var isNew bool
	version := 1
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		isNew = s.keys.add(key)
		if id, v, ok := parseVersionKey(key); ok && id == c.ID {
			version = v
		}
	} else {
		isNew = s.keys.addID(c.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	if !isNew {
		s.counts.duplicates.Add(1)
		_, _ = w.Write(duplicateBody)
		return
	}
	s.versions.accepted(c.ID, version, s.ids.has(c.ID))
	s.ids.add(c.ID)
	s.counts.accepted.Add(1)
	_, _ = w.Write(acceptedBody)
}

// readBody reads the request body up to the size limit. Its error is a
// reason for the client, with the status to answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge, errors.New("body too large")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, errors.New("body too large")
		}
		return nil, http.StatusBadRequest, errors.New("cannot read body")
	}
	return body, 0, nil
}
