package crm

import (
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

	"goquiz/common"
)

// The header fields a CRM announces its request budget in, canonical as
// net/http keys them.
var (
	hdrRateLimit          = textproto.CanonicalMIMEHeaderKey("RateLimit")
	hdrRateLimitPolicy    = textproto.CanonicalMIMEHeaderKey("RateLimit-Policy")
	hdrRateLimitRemaining = textproto.CanonicalMIMEHeaderKey("RateLimit-Remaining")
	hdrRateLimitReset     = textproto.CanonicalMIMEHeaderKey("RateLimit-Reset")
	// counterPairs are the remaining/reset pairs outside the structured
	// fields, in order of preference: the IETF drafts up to -06, the
	// common X- pair, and its X-Rate-Limit- spelling (Okta, Zendesk).
	counterPairs = [...][2]string{
		{hdrRateLimitRemaining, hdrRateLimitReset},
		{textproto.CanonicalMIMEHeaderKey("X-RateLimit-Remaining"), textproto.CanonicalMIMEHeaderKey("X-RateLimit-Reset")},
		{textproto.CanonicalMIMEHeaderKey("X-Rate-Limit-Remaining"), textproto.CanonicalMIMEHeaderKey("X-Rate-Limit-Reset")},
	}
)

// epochReset is the smallest reset value read as a Unix time rather than
// as seconds from now. Some APIs (GitHub, Twitter, Okta) send the time the
// budget is renewed; a wait of 10⁹ seconds (31 years) is no window, and
// every Unix time since 2001 is above it, so no value is ambiguous, not
// even the month-long windows of monthly quotas.
const epochReset = 1e9

// maxReset bounds the resets accepted, so that they fit a time.Duration:
// as a Unix time it is the year 2255. A larger value is probably in
// milliseconds, and is ignored.
const maxReset = 9e9

// parseBudget returns the request budget the answer's header announces,
// or the zero Budget when it announces none that parses. now is when the
// answer came, for resets sent as a Unix time.
//
// Read, in order, the first that is present and well formed:
//
//   - RateLimit as the IETF draft (draft-ietf-httpapi-ratelimit-headers-08
//     and later) defines it: a List of service limits such as
//     `"default";r=50;t=30` (r requests left, for t seconds). An item
//     without t takes the w of the RateLimit-Policy item of the same name
//     (`"default";q=100;w=60`), and is skipped without either. Of several,
//     the one allowing the lowest rate r/t is returned: pacing by it keeps
//     within every other.
//   - RateLimit as draft -07 defined it: a Dictionary
//     `limit=100, remaining=50, reset=30`.
//   - RateLimit-Remaining with RateLimit-Reset (drafts up to -06),
//     X-RateLimit-Remaining with X-RateLimit-Reset, then
//     X-Rate-Limit-Remaining with X-Rate-Limit-Reset: a whole number of
//     requests left, and a reset in seconds (decimals allowed), or as a
//     Unix time when it is 10⁹ or more (see epochReset).
//
// The structured fields (RFC 9651) are parsed by github.com/dunglas/httpsfv.
// Malformed fields are ignored, as the drafts require: the next form is
// then tried.
func parseBudget(h http.Header, now time.Time) common.Budget {
	if v := h[hdrRateLimit]; len(v) > 0 {
		if b, ok := fromServiceLimits(v, h[hdrRateLimitPolicy]); ok {
			return b
		}
		if b, ok := fromDraft7(v); ok {
			return b
		}
	}
	for _, pair := range counterPairs {
		rem, reset := h[pair[0]], h[pair[1]]
		if len(rem) != 1 || len(reset) != 1 {
			continue
		}
		if b, ok := fromCounters(rem[0], reset[0], now); ok {
			return b
		}
	}
	return common.Budget{}
}

// fromServiceLimits reads a RateLimit List of service limits, with the
// windows of a RateLimit-Policy List.
func fromServiceLimits(field, policyField []string) (common.Budget, bool) {
	limits, err := httpsfv.UnmarshalList(field)
	if err != nil {
		return common.Budget{}, false
	}
	windows := policyWindows(policyField)
	var best common.Budget
	bestRate := math.Inf(1)
	found := false
	for _, m := range limits {
		item, name, ok := policyItem(m)
		if !ok {
			return common.Budget{}, false
		}
		r, ok := intParam(item.Params, "r")
		if !ok || r < 0 {
			return common.Budget{}, false
		}
		window := int64(-1)
		if _, has := item.Params.Get("t"); has {
			t, ok := intParam(item.Params, "t")
			if !ok || t < 0 {
				return common.Budget{}, false
			}
			window = t
		} else if w, ok := windows[name]; ok {
			window = w
		}
		if window < 0 {
			continue // no window known: a count alone cannot pace
		}
		rate := math.Inf(1)
		if window > 0 {
			rate = float64(r) / float64(window)
		}
		if !found || rate < bestRate {
			best = budget(r, time.Duration(window)*time.Second)
			bestRate, found = rate, true
		}
	}
	return best, found
}

// policyWindows returns the window w of each quota policy of a
// RateLimit-Policy List by name; none when the field is malformed.
func policyWindows(field []string) map[string]int64 {
	if len(field) == 0 {
		return nil
	}
	policies, err := httpsfv.UnmarshalList(field)
	if err != nil {
		return nil
	}
	windows := make(map[string]int64, len(policies))
	for _, m := range policies {
		item, name, ok := policyItem(m)
		if !ok {
			return nil
		}
		if q, ok := intParam(item.Params, "q"); !ok || q < 0 {
			return nil
		}
		if _, has := item.Params.Get("w"); has {
			w, ok := intParam(item.Params, "w")
			if !ok || w <= 0 {
				return nil
			}
			windows[name] = w
		}
	}
	return windows
}

// policyItem returns a list member as an Item with the policy it names:
// a String, as the draft says, or a Token, which some servers send.
func policyItem(m httpsfv.Member) (httpsfv.Item, string, bool) {
	item, ok := m.(httpsfv.Item)
	if !ok {
		return httpsfv.Item{}, "", false // an inner list
	}
	switch v := item.Value.(type) {
	case string:
		return item, v, true
	case httpsfv.Token:
		return item, string(v), true
	}
	return httpsfv.Item{}, "", false
}

// intParam returns the parameter named key when it is an Integer. The
// library keeps the last of repeated keys, as RFC 9651 says.
func intParam(p *httpsfv.Params, key string) (int64, bool) {
	v, ok := p.Get(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	return n, ok
}

// fromDraft7 reads a RateLimit Dictionary: remaining and reset are needed.
func fromDraft7(field []string) (common.Budget, bool) {
	dict, err := httpsfv.UnmarshalDictionary(field)
	if err != nil {
		return common.Budget{}, false
	}
	var got [3]int64 // limit, remaining, reset
	for i, key := range [...]string{"limit", "remaining", "reset"} {
		got[i] = -1
		m, ok := dict.Get(key)
		if !ok {
			continue
		}
		item, ok := m.(httpsfv.Item)
		if !ok {
			return common.Budget{}, false
		}
		n, ok := item.Value.(int64)
		if !ok || n < 0 {
			return common.Budget{}, false
		}
		got[i] = n
	}
	remaining, reset := got[1], got[2]
	if remaining < 0 || reset < 0 {
		return common.Budget{}, false
	}
	return budget(remaining, time.Duration(reset)*time.Second), true
}

// fromCounters reads a remaining count and a reset time.
func fromCounters(remaining, reset string, now time.Time) (common.Budget, bool) {
	remaining, reset = strings.TrimSpace(remaining), strings.TrimSpace(reset)
	if !isDigits(remaining) || remaining == "" {
		return common.Budget{}, false
	}
	n, err := strconv.ParseInt(remaining, 10, 64)
	if err != nil {
		return common.Budget{}, false
	}
	d, ok := parseReset(reset, now)
	if !ok {
		return common.Budget{}, false
	}
	return budget(n, d), true
}

// parseReset parses a reset as seconds from now, or as a Unix time when
// it is epochReset or more: digits, with an optional fraction.
func parseReset(v string, now time.Time) (time.Duration, bool) {
	whole, frac, hasFrac := strings.Cut(v, ".")
	if whole == "" || !isDigits(whole) || (hasFrac && (frac == "" || !isDigits(frac))) {
		return 0, false
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs >= maxReset {
		return 0, false
	}
	d := time.Duration(secs * float64(time.Second))
	if secs < epochReset {
		return d, true
	}
	return max(time.Unix(0, int64(d)).Sub(now), 0), true
}

// budget returns a known Budget of n requests until reset.
func budget(n int64, reset time.Duration) common.Budget {
	return common.Budget{Known: true, Remaining: int(min(n, math.MaxInt)), Reset: reset}
}
