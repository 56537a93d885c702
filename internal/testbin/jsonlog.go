package testbin

import (
	"encoding/json"
	"strings"
	"testing"
)

// JSONLines parses every line of s, what a program wrote under
// LOG_FORMAT=json, as a JSON object with a time, a level and a message
// (log/slog's JSON handler), failing the test at the first line that is
// not one. An empty s has no records.
func JSONLines(t testing.TB, s string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(s) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON object: %q: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("no %q in the record %q", k, line)
			}
		}
		recs = append(recs, rec)
	}
	return recs
}
