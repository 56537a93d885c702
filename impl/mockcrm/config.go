package mockcrm

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxBodyBytes is the largest request body accepted when
	// Config.MaxBodyBytes is zero.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultRetryAfter is the Retry-After of rate-limited requests when
	// Config.RetryAfter is zero.
	DefaultRetryAfter = time.Second
	// DefaultHangFor is how long a hanging request hangs when
	// Config.HangFor is zero.
	DefaultHangFor = 30 * time.Second
)

// Config configures a Server. The zero value accepts every valid request
// at once, with no token and no faults.
type Config struct {
	// Token, when set, must come with every request as
	// "Authorization: Bearer <Token>"; other requests get 401.
	Token string
	// MaxBodyBytes is the largest request body accepted; larger ones get
	// 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// FailRate is the probability, 0 to 1, of answering a valid request
	// 500.
	FailRate float64
	// RateLimitRate is the probability, 0 to 1, of answering a valid
	// request 429 with a Retry-After of RetryAfter, or without
	// Retry-After when OmitRetryAfter is set.
	RateLimitRate float64
	// RateLimitRPS, when positive, is a real rate limit: a token bucket
	// filling at this many requests per second, holding RateLimitBurst;
	// an authorized request that finds it empty is answered 429 with
	// "Retry-After: 1" (counted as throttled, apart from the random 429s
	// of RateLimitRate).
	RateLimitRPS float64
	// RateLimitBurst is the bucket's size. Zero means a tenth of
	// RateLimitRPS, at least 1.
	RateLimitBurst int
	// RateLimitWindow and RateLimitWindowMax, both positive, are a fixed
	// window limit: at most RateLimitWindowMax authorized requests in each
	// RateLimitWindow, the windows counted from New. A request beyond is
	// answered 429 with no Retry-After and no budget header (counted as
	// throttled, like the bucket's refusals). With a token bucket as
	// well, a request must pass both, the bucket first.
	RateLimitWindow    time.Duration
	RateLimitWindowMax int
	// RetryAfter is the wait asked with the random 429s (RateLimitRate),
	// sent in whole seconds rounded up. Zero means DefaultRetryAfter.
	RetryAfter time.Duration
	// OmitRetryAfter sends the random 429s without Retry-After.
	OmitRetryAfter bool
	// Latency delays every valid request.
	Latency time.Duration
	// LatencyJitter adds a random delay from 0 to LatencyJitter to
	// Latency.
	LatencyJitter time.Duration
	// HangRate is the probability, 0 to 1, of a valid request hanging for
	// HangFor, or until the client gives up, before being answered 500.
	HangRate float64
	// HangFor is how long a hanging request hangs. Zero means
	// DefaultHangFor.
	HangFor time.Duration
	// OutageEvery and OutageFor schedule outages: at the start of every
	// OutageEvery period after the first one, counted from New, the
	// server is down for OutageFor, answering every valid request 503 with
	// "Retry-After: 1". Both must be positive for outages to happen.
	OutageEvery time.Duration
	OutageFor   time.Duration

	// Seed seeds the random latency and faults: the nth request to arrive
	// draws them from Seed and n alone, so that two servers of the same
	// Seed serve their nth requests alike. Zero means a random seed.
	Seed uint64

	// HubSpot makes the server a HubSpot-like CRM instead of goquiz's own
	// API: contacts at HubSpotContactsPath (see hubspot.go). The token,
	// the token bucket and the faults apply as in the default mode.
	HubSpot bool
	// HubSpotLimit is the number of requests HubSpot's rolling window of
	// HubSpotWindow allows, announced in X-HubSpot-RateLimit-* headers;
	// zero: no limit, no headers.
	HubSpotLimit int
}

// Validate reports the first invalid field of c: a rate outside 0..1, or a
// negative duration or size.
func (c Config) Validate() error {
	rates := []struct {
		name string
		v    float64
	}{
		{"fail rate", c.FailRate},
		{"rate limit rate", c.RateLimitRate},
		{"hang rate", c.HangRate},
	}
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("mockcrm: %s %v is not between 0 and 1", r.name, r.v)
		}
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"retry after", c.RetryAfter},
		{"latency", c.Latency},
		{"latency jitter", c.LatencyJitter},
		{"hang for", c.HangFor},
		{"outage every", c.OutageEvery},
		{"outage for", c.OutageFor},
		{"rate limit window", c.RateLimitWindow},
	}
	for _, d := range durations {
		if d.v < 0 {
			return fmt.Errorf("mockcrm: %s %v is negative", d.name, d.v)
		}
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("mockcrm: max body bytes is negative")
	}
	if math.IsNaN(c.RateLimitRPS) || math.IsInf(c.RateLimitRPS, 0) || c.RateLimitRPS < 0 {
		return fmt.Errorf("mockcrm: rate limit %v requests per second is not a finite number of at least 0", c.RateLimitRPS)
	}
	if c.RateLimitBurst < 0 {
		return errors.New("mockcrm: rate limit burst is negative")
	}
	if c.RateLimitWindowMax < 0 {
		return errors.New("mockcrm: rate limit window max is negative")
	}
	if (c.RateLimitWindow > 0) != (c.RateLimitWindowMax > 0) {
		return fmt.Errorf("mockcrm: a fixed window limit needs both a window (%v) and a maximum (%d)", c.RateLimitWindow, c.RateLimitWindowMax)
	}
	if c.HubSpotLimit < 0 {
		return errors.New("mockcrm: HubSpot limit is negative")
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.HangFor <= 0 {
		c.HangFor = DefaultHangFor
	}
	if c.RateLimitBurst <= 0 {
		c.RateLimitBurst = defaultBurst(c.RateLimitRPS)
	}
	return c
}
