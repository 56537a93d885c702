package crm

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

	"goquiz/common"
)

// A reset of epochReset seconds or more is a Unix time (GitHub, Okta): no
// window lasts 31 years, and every Unix time since 2001 is above it. One
// of maxReset or more (the year 2255) is probably in milliseconds, and is
// ignored.
const (
	epochReset = 1e9
	maxReset   = 9e9
)

// resetForm is the form of a reset: digits, with an optional fraction.
var resetForm = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseBudget returns the request budget the answer's header announces,
// or the zero Budget when none parses; now is when the answer came. It
// reads the first of these present and well formed (malformed fields are
// ignored, as the drafts require; structured fields by httpsfv):
//
//   - RateLimit as draft-ietf-httpapi-ratelimit-headers-08 and later: a
//     List of `"name";r=50;t=30` (fromServiceLimits);
//   - RateLimit as draft -07: a Dictionary `limit=100, remaining=50, reset=30`;
//   - RateLimit-Remaining and -Reset (drafts up to -06), X-RateLimit-…,
//     X-Rate-Limit-… (Okta, Zendesk): a whole number left, and a reset
//     (parseReset);
//   - X-HubSpot-RateLimit-Max and -Interval-Milliseconds: HubSpot's
//     window, which announces no reset; its rate is a ceiling, one request
//     short of the window's, so that evenly spaced requests never fill it.
func parseBudget(h http.Header, now time.Time) common.Budget {
	if rl := h.Values("RateLimit"); len(rl) > 0 { // most answers have none: parse nothing
		if b := fromServiceLimits(rl, h.Values("RateLimit-Policy")); b.Known {
			return b
		}
		if b := fromDraft7(rl); b.Known {
			return b
		}
	}
	for _, prefix := range [...]string{"RateLimit-", "X-RateLimit-", "X-Rate-Limit-"} {
		rem, reset := h.Values(prefix+"Remaining"), h.Values(prefix+"Reset")
		if len(rem) != 1 || len(reset) != 1 {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(rem[0]), 10, 63)
		if d, ok := parseReset(strings.TrimSpace(reset[0]), now); err == nil && ok {
			return budget(int64(n), d)
		}
	}
	window, err := strconv.ParseUint(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"), 10, 31)
	if n, err2 := strconv.ParseUint(h.Get("X-HubSpot-RateLimit-Max"), 10, 31); err == nil && err2 == nil && window > 0 && n > 1 {
		return budget(int64(n-1), time.Duration(window)*time.Millisecond)
	}
	return common.Budget{}
}

// fromServiceLimits reads a RateLimit List of service limits: r requests
// left for t seconds, or without t, the w of the RateLimit-Policy item of
// that name (none when that List is malformed, or a w is 0). Of several,
// the lowest rate r/t: pacing by it keeps within every other.
func fromServiceLimits(field, policyField []string) common.Budget {
	limits, err := httpsfv.UnmarshalList(field)
	if err != nil {
		return common.Budget{}
	}
	policies, _ := httpsfv.UnmarshalList(policyField) // none when malformed
	windows := make(map[string]int64, len(policies))
	for _, m := range policies {
		name, _, w, ok := limitItem(m, "q", "w")
		if !ok || w == 0 {
			clear(windows)
			break
		}
		if w > 0 {
			windows[name] = w
		}
	}
	var best common.Budget
	bestRate := math.Inf(1)
	for _, m := range limits {
		name, r, t, ok := limitItem(m, "r", "t")
		if !ok {
			return common.Budget{}
		}
		if t < 0 {
			if t, ok = windows[name]; !ok {
				continue // no window known: a count alone cannot pace
			}
		}
		rate := math.Inf(1)
		if t > 0 {
			rate = float64(r) / float64(t)
		}
		if !best.Known || rate < bestRate {
			best, bestRate = budget(r, time.Duration(t)*time.Second), rate
		}
	}
	return best
}

// limitItem returns the name of a List member, a String as the drafts say
// or a Token, which some servers send, and its parameters need and opt
// (-1 when absent); false unless they are Integers of at least 0 (of
// repeated keys, the library keeps the last, as RFC 9651 says).
func limitItem(m httpsfv.Member, need, opt string) (name string, n, o int64, ok bool) {
	item, _ := m.(httpsfv.Item)
	switch v := item.Value.(type) {
	case string:
		name = v
	case httpsfv.Token:
		name = string(v)
	default: // an inner list, or another type
		return "", 0, 0, false
	}
	nv, _ := item.Params.Get(need)
	n, ok = nv.(int64)
	o = -1
	if ov, has := item.Params.Get(opt); has {
		o, has = ov.(int64)
		ok = ok && has && o >= 0
	}
	return name, n, o, ok && n >= 0
}

// fromDraft7 reads a RateLimit Dictionary: remaining and reset are needed,
// and limit, when present, is an Integer of at least 0 too.
func fromDraft7(field []string) common.Budget {
	dict, err := httpsfv.UnmarshalDictionary(field)
	if err != nil {
		return common.Budget{}
	}
	var got [3]int64 // limit, remaining, reset
	for i, key := range [...]string{"limit", "remaining", "reset"} {
		m, present := dict.Get(key)
		item, _ := m.(httpsfv.Item)
		n, ok := item.Value.(int64)
		if present && (!ok || n < 0) || !present && i > 0 {
			return common.Budget{}
		}
		got[i] = n
	}
	return budget(got[1], time.Duration(got[2])*time.Second)
}

// parseReset parses a reset as seconds from now (decimals allowed), or as
// a Unix time when it is epochReset or more.
func parseReset(v string, now time.Time) (time.Duration, bool) {
	secs, err := strconv.ParseFloat(v, 64)
	if !resetForm.MatchString(v) || err != nil || secs >= maxReset {
		return 0, false
	}
	d := time.Duration(secs * float64(time.Second))
	if secs >= epochReset {
		d = max(time.Unix(0, int64(d)).Sub(now), 0)
	}
	return d, true
}

// budget returns a known Budget of n requests until reset.
func budget(n int64, reset time.Duration) common.Budget {
	return common.Budget{Known: true, Remaining: int(min(n, math.MaxInt)), Reset: reset}
}
