package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/cli"
)

// config is the mock CRM's configuration, read from the environment.
type config struct {
	Listen         string        `envconfig:"API_LISTEN" desc:"address to listen on, host:port"`
	Token          string        `envconfig:"API_TOKEN" desc:"bearer token required of every request; empty: none"`
	FailRate       float64       `envconfig:"FAIL_RATE" desc:"probability 0..1 of answering a valid request 500"`
	RateLimitRate  float64       `envconfig:"RATE_LIMIT_RATE" desc:"probability 0..1 of answering a valid request 429 at random"`
	RateLimitRPS   float64       `envconfig:"RATE_LIMIT_RPS" desc:"a real rate limit: requests per second allowed (a token bucket), beyond which 429 with Retry-After: 1; 0: none"`
	RateLimitBurst int           `envconfig:"RATE_LIMIT_BURST" desc:"requests the rate limit lets through at once; 0: a tenth of RATE_LIMIT_RPS, at least 1"`
	WindowLength   time.Duration `envconfig:"RATE_LIMIT_WINDOW" desc:"a fixed window limit: length of each window, counted from start, in which RATE_LIMIT_WINDOW_MAX requests are allowed; beyond, 429 with no Retry-After and no budget header; 0: none"`
	WindowMax      int           `envconfig:"RATE_LIMIT_WINDOW_MAX" desc:"requests allowed in each RATE_LIMIT_WINDOW; needs RATE_LIMIT_WINDOW, and the other way round"`
	RetryAfter     time.Duration `envconfig:"RETRY_AFTER" desc:"Retry-After of the random 429 answers, rounded up to seconds; 0: none sent"`
	Latency        time.Duration `envconfig:"LATENCY" desc:"fixed delay of every valid request"`
	LatencyJitter  time.Duration `envconfig:"LATENCY_JITTER" desc:"random extra delay, 0 to this, of every valid request"`
	HangRate       float64       `envconfig:"HANG_RATE" desc:"probability 0..1 of a valid request hanging for HANG_FOR, then 500"`
	HangFor        time.Duration `envconfig:"HANG_FOR" desc:"how long hanging requests hang"`
	OutageEvery    time.Duration `envconfig:"OUTAGE_EVERY" desc:"period of scheduled outages; 0: none"`
	OutageFor      time.Duration `envconfig:"OUTAGE_FOR" desc:"length of the outage at the start of each period after the first (503)"`
	MaxBodyBytes   int64         `envconfig:"MAX_BODY_BYTES" desc:"largest request body accepted, in bytes (413 above)"`
	Seed           uint64        `envconfig:"SEED" desc:"seed of the random faults; 0: random"`
	LogInterval    time.Duration `envconfig:"LOG_INTERVAL" desc:"interval of the statistics log line, logged only on change"`
	MetricsListen  string        `envconfig:"METRICS_LISTEN" desc:"host:port serving /metrics (Prometheus), /healthz and /readyz, e.g. :9091; empty: none"`
	Mode           string        `envconfig:"API_MODE" desc:"the API served: goquiz's own (unset, or goquiz), or hubspot: HubSpot's contacts at /crm/v3/objects/contacts (see docs/crm-api.md)"`
	HubSpotLimit   int           `envconfig:"HUBSPOT_RATE_LIMIT" desc:"with API_MODE=hubspot (ignored otherwise), requests allowed per rolling 10 s window, beyond which 429 as HubSpot answers it; announced in X-HubSpot-RateLimit-* headers; HubSpot allows 100 or 190; 0: none"`
	cli.Logging
}

// defaultConfig is the mock CRM's defaults: the value of each variable
// that is unset, shown by -h and in docs/configuration.md.
func defaultConfig() config {
	return config{
		Listen:       ":8080",
		RetryAfter:   mockcrm.DefaultRetryAfter,
		HangFor:      mockcrm.DefaultHangFor,
		MaxBodyBytes: mockcrm.DefaultMaxBodyBytes,
		LogInterval:  mockcrm.DefaultLogInterval,
		Logging:      cli.DefaultLogging,
	}
}

// Validate reports the first invalid value of the configuration, naming
// its variable.
func (c config) Validate() error {
	if c.Listen == "" {
		return errors.New("API_LISTEN: must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("API_LISTEN: %q is not host:port (such as :8080)", c.Listen)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"FAIL_RATE", c.FailRate}, {"RATE_LIMIT_RATE", c.RateLimitRate}, {"HANG_RATE", c.HangRate}} {
		if !(r.v >= 0 && r.v <= 1) { // also refuses NaN
			return fmt.Errorf("%s: %v is not between 0 and 1", r.name, r.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"RETRY_AFTER", c.RetryAfter}, {"LATENCY", c.Latency}, {"LATENCY_JITTER", c.LatencyJitter},
		{"HANG_FOR", c.HangFor}, {"OUTAGE_EVERY", c.OutageEvery}, {"OUTAGE_FOR", c.OutageFor},
		{"LOG_INTERVAL", c.LogInterval}, {"RATE_LIMIT_WINDOW", c.WindowLength},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s: %v is negative", d.name, d.v)
		}
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("MAX_BODY_BYTES: %d is negative", c.MaxBodyBytes)
	}
	if (c.OutageEvery > 0) != (c.OutageFor > 0) {
		return fmt.Errorf("OUTAGE_EVERY (%v) and OUTAGE_FOR (%v): outages need both, or neither", c.OutageEvery, c.OutageFor)
	}
	if c.OutageFor >= c.OutageEvery && c.OutageEvery > 0 {
		return fmt.Errorf("OUTAGE_FOR (%v) must be shorter than OUTAGE_EVERY (%v): the CRM would never answer", c.OutageFor, c.OutageEvery)
	}
	if !(c.RateLimitRPS >= 0 && c.RateLimitRPS <= math.MaxFloat64) { // also refuses NaN and +Inf
		return fmt.Errorf("RATE_LIMIT_RPS: %v is not a number of requests per second of at least 0 (0: no limit)", c.RateLimitRPS)
	}
	if c.RateLimitBurst < 0 {
		return fmt.Errorf("RATE_LIMIT_BURST: %d is negative (0: a tenth of RATE_LIMIT_RPS)", c.RateLimitBurst)
	}
	if c.WindowMax < 0 {
		return fmt.Errorf("RATE_LIMIT_WINDOW_MAX: %d is negative", c.WindowMax)
	}
	if (c.WindowLength > 0) != (c.WindowMax > 0) {
		return fmt.Errorf("RATE_LIMIT_WINDOW (%v) and RATE_LIMIT_WINDOW_MAX (%d): a fixed window limit needs both, or neither", c.WindowLength, c.WindowMax)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("METRICS_LISTEN: %q is not host:port (such as :9091)", c.MetricsListen)
		}
	}
	switch c.Mode {
	case "", modeGoquiz, modeHubSpot:
	default:
		return fmt.Errorf("API_MODE: %q is not goquiz or hubspot", c.Mode)
	}
	if c.HubSpotLimit < 0 {
		return fmt.Errorf("HUBSPOT_RATE_LIMIT: %d is negative (0: no limit)", c.HubSpotLimit)
	}
	return nil
}

// The values of API_MODE.
const (
	modeGoquiz  = "goquiz"
	modeHubSpot = "hubspot"
)

// withMode returns m, the mock CRM's configuration, in the mode API_MODE
// names.
func (c config) withMode(m mockcrm.Config) mockcrm.Config {
	m.HubSpot = c.Mode == modeHubSpot
	m.HubSpotLimit = c.HubSpotLimit
	return m
}

// mock returns the mock CRM's configuration.
func (c config) mock() mockcrm.Config {
	return mockcrm.Config{
		Token:              c.Token,
		MaxBodyBytes:       c.MaxBodyBytes,
		FailRate:           c.FailRate,
		RateLimitRate:      c.RateLimitRate,
		RateLimitRPS:       c.RateLimitRPS,
		RateLimitBurst:     c.RateLimitBurst,
		RateLimitWindow:    c.WindowLength,
		RateLimitWindowMax: c.WindowMax,
		RetryAfter:         c.RetryAfter,
		OmitRetryAfter:     c.RetryAfter == 0,
		Latency:            c.Latency,
		LatencyJitter:      c.LatencyJitter,
		HangRate:           c.HangRate,
		HangFor:            c.HangFor,
		OutageEvery:        c.OutageEvery,
		OutageFor:          c.OutageFor,
		Seed:               c.Seed,
	}
}

// logValue returns cfg as log attributes, the token redacted.
func (c config) logValue() []slog.Attr {
	token := ""
	if c.Token != "" {
		token = "***"
	}
	return []slog.Attr{
		slog.String("listen", c.Listen),
		slog.String("token", token),
		slog.Float64("fail_rate", c.FailRate),
		slog.Float64("rate_limit_rate", c.RateLimitRate),
		slog.Float64("rate_limit_rps", c.RateLimitRPS),
		slog.Int("rate_limit_burst", c.RateLimitBurst),
		slog.Duration("rate_limit_window", c.WindowLength),
		slog.Int("rate_limit_window_max", c.WindowMax),
		slog.Duration("retry_after", c.RetryAfter),
		slog.Duration("latency", c.Latency),
		slog.Duration("latency_jitter", c.LatencyJitter),
		slog.Float64("hang_rate", c.HangRate),
		slog.Duration("hang_for", c.HangFor),
		slog.Duration("outage_every", c.OutageEvery),
		slog.Duration("outage_for", c.OutageFor),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Uint64("seed", c.Seed),
		slog.Duration("log_interval", c.LogInterval),
		slog.String("metrics_listen", c.MetricsListen),
		slog.String("mode", cmp.Or(c.Mode, modeGoquiz)),
		slog.Int("hubspot_rate_limit", c.HubSpotLimit),
	}
}

const synopsis = `Usage: httpapi [-h]

httpapi serves a mock CRM API: POST a customer as JSON to any path but
/stats; GET /stats for the counters. Faults are switched on by the
environment. API_MODE=hubspot serves HubSpot's contacts API instead.`
