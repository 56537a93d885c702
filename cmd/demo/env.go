package main

import (
	"maps"
	"os"
	"slices"
)

// crmFaults are the mock CRM's settings in the demo: a rate limit of
// 2,000 requests per second, which the integrators find and share, some
// failures, some 429s at random, and latency.
var crmFaults = map[string]string{
	"RATE_LIMIT_RPS":  "2000",
	"FAIL_RATE":       "0.1",
	"RATE_LIMIT_RATE": "0.05",
	"RETRY_AFTER":     "1s",
	"LATENCY":         "2ms",
	"LATENCY_JITTER":  "5ms",
	"LOG_INTERVAL":    "5s",
}

// integratorSettings are the integrators' settings in the demo: short
// retry delays, so that the faults do not stretch the demo.
var integratorSettings = map[string]string{
	"WORKERS":         "8",
	"RETRY_DELAY":     "200ms",
	"RETRY_MAX_DELAY": "2s",
	"POLL_INTERVAL":   "1s",
}

// parserSettings are the parser's settings in the demo.
var parserSettings = map[string]string{
	"PROGRESS_INTERVAL": "2s",
}

// childEnv returns what a child's environment adds to the demo's own:
// each of defaults the user did not set, then forced, which always wins
// (the last value of a variable is the one a child sees).
func childEnv(defaults, forced map[string]string) []string {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(defaults)) {
		if _, set := os.LookupEnv(k); !set {
			env = append(env, k+"="+defaults[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(forced)) {
		env = append(env, k+"="+forced[k])
	}
	return env
}

// setting returns the value a child sees of the variable k of defaults.
func setting(defaults map[string]string, k string) string {
	if v, set := os.LookupEnv(k); set {
		return v
	}
	return defaults[k]
}
