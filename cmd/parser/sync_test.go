package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/load"
)

func TestCutDryRun(t *testing.T) {
	tests := []struct {
		args     []string
		wantDry  bool
		wantRest []string
	}{
		{[]string{"--dry-run", "a.csv"}, true, []string{"a.csv"}},
		{[]string{"-dry-run", "-"}, true, []string{"-"}},
		{[]string{"a.csv"}, false, []string{"a.csv"}},
		{[]string{"-h"}, false, []string{"-h"}},
		{[]string{"--", "--dry-run"}, false, []string{"--", "--dry-run"}},
		{[]string{"a.csv", "--dry-run"}, true, []string{"a.csv"}},
		{[]string{"-", "-dry-run"}, true, []string{"-"}},
		{[]string{"a.csv", "--dry-run", "b.csv"}, false, []string{"a.csv", "--dry-run", "b.csv"}},
		{[]string{"a.csv", "b.csv"}, false, []string{"a.csv", "b.csv"}},
	}
	for _, tt := range tests {
		dry, rest := cutDryRun(tt.args)
		assert.Equal(t, tt.wantDry, dry, "%q", tt.args)
		assert.Equal(t, tt.wantRest, rest, "%q", tt.args)
	}
}

func TestSummary(t *testing.T) {
	st := load.Stats{Read: 1000, Stored: 10, Changed: 100, Unchanged: 880, Duplicates: 5, Rejected: 5}
	tests := []struct {
		name string
		mode common.SyncMode
		dry  bool
		want string
	}{
		{"insert", common.SyncInsert, false, "read 1000 rows: 10 stored, 5 duplicates, 5 rejected"},
		{"upsert", common.SyncUpsert, false, "read 1000 rows: 110 stored (10 new, 100 changed), 880 unchanged, 5 duplicates, 5 rejected"},
		{"dry run", common.SyncUpsert, true, "dry run (SYNC_MODE=upsert), nothing stored: read 1000 rows: 10 new, 100 changed, 880 unchanged, 5 duplicates, 5 rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, summary(st, tt.mode, tt.dry))
		})
	}
}

func TestSyncModeIsChecked(t *testing.T) {
	t.Setenv("SYNC_MODE", "merge")
	var stdout, stderr strings.Builder
	code := run([]string{"x.csv"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), `SYNC_MODE "merge" is not a sync mode: want insert or upsert`)
}

// A progress line says what the summary says: in upsert mode the rows
// stored, new and changed together, then each; a dry run stores none.
func TestProgressLineByMode(t *testing.T) {
	st := load.Stats{Read: 1000, Stored: 10, Changed: 100, Unchanged: 880, Duplicates: 5, Rejected: 5}
	tests := []struct {
		name          string
		outcomes, dry bool
		want          string
	}{
		{"insert", false, false, "1000 rows read, 10 stored, 5 duplicates, 5 rejected"},
		{"upsert", true, false, "1000 rows read, 110 stored (10 new, 100 changed), 880 unchanged, 5 duplicates, 5 rejected"},
		{"dry run", true, true, "1000 rows read, 10 new, 100 changed, 880 unchanged, 5 duplicates, 5 rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &progress{start: time.Now(), outcomes: tt.outcomes, dry: tt.dry}
			assert.Contains(t, p.describe(st, time.Now()), tt.want)
		})
	}
}

// A JSON progress record of a dry run says nothing stored, the rows that
// would be new and changed beside it; a load's says new and changed
// together, as its summary does.
func TestProgressRecordByMode(t *testing.T) {
	st := load.Stats{Read: 1000, Stored: 10, Changed: 100, Unchanged: 880}
	for _, tt := range []struct {
		dry        bool
		wantStored float64
	}{{false, 110}, {true, 0}} {
		var buf strings.Builder
		p := &progress{start: time.Now(), outcomes: true, dry: tt.dry, log: slog.New(slog.NewJSONHandler(&buf, nil))}
		p.record(st, time.Now())
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(buf.String()), &rec))
		assert.Equal(t, tt.wantStored, rec["stored"], "dry run %v", tt.dry)
		assert.Equal(t, 10.0, rec["new"])
		assert.Equal(t, 100.0, rec["changed"])
	}
}
