package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
	"goquiz/internal/harness/check"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// buildPrograms builds parser, integrator and httpapi the way the demo does,
// into a directory removed when the test ends.
func buildPrograms(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := binaries(ctx, "", filepath.Join(t.TempDir(), "bin"))
	require.NoError(t, err)
	return dir
}

// demoOptions are the options of a small demo on a fresh test database,
// whose temporary directory goes to a directory the test checks.
func demoOptions(t *testing.T, bin string, n int64) (options, string) {
	// The database first: a cluster started now must not live in tmp.
	dsn := pgtest.DSN(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return options{n: n, integrators: 2, timeout: time.Minute, dsn: dsn, binDir: bin, seed: 1}, tmp
}

func TestDemoChecksAndCleansUp(t *testing.T) {
	bin := buildPrograms(t)
	o, tmp := demoOptions(t, bin, 2000)
	var out bytes.Buffer
	err := run(context.Background(), o, &out)
	require.NoError(t, err, out.String())
	for _, want := range []string{
		`parser exit code\s+0\s+want 0\s+ok`,
		`rows stored\s+2,000\s+want 2,000\s+ok`,
		`rows sent\s+2,000\s+want 2,000\s+ok`,
		`CRM accepted\s+2,000\s+want 2,000\s+ok`,
		`CRM duplicates\s+0\s+want 0\s+ok`,
		`integrators' exit codes on SIGTERM\s+0 0\s+want 0\s+ok`,
		`\nCHECK PASSED: 2,000 customers`,
	} {
		assert.Regexp(t, want, out.String())
	}
	entries, _ := os.ReadDir(tmp)
	assert.Empty(t, entries, "the demo's temporary directory is removed")
}

func TestDemoRefusesTableWithRowsUnlessReset(t *testing.T) {
	bin := buildPrograms(t)
	o, _ := demoOptions(t, bin, 50)
	ctx := context.Background()
	db, err := postgres.Open(ctx, o.dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.SQL().ExecContext(ctx,
		`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (7, 'a', 'b', 'a@b.example', '1')`)
	require.NoError(t, err)

	var out bytes.Buffer
	err = run(ctx, o, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already holds 1 rows")
	assert.Contains(t, err.Error(), "-reset")

	o.reset = true
	out.Reset()
	require.NoError(t, run(ctx, o, &out), out.String())
	assert.Contains(t, out.String(), "CHECK PASSED")
}

func TestDemoFailsItsCheckAndKeepsLogs(t *testing.T) {
	bin := buildPrograms(t)
	t.Setenv("FAIL_RATE", "1") // the user's setting wins: nothing is accepted
	o, tmp := demoOptions(t, bin, 20)
	o.timeout = 4 * time.Second
	var out bytes.Buffer
	err := run(context.Background(), o, &out)
	require.ErrorIs(t, err, errCheckFailed, out.String())
	assert.Contains(t, out.String(), "CHECK FAILED: timed out after 4s (-timeout)")
	assert.Regexp(t, `rows sent\s+0\s+want 20\s+FAIL`, out.String())
	assert.Contains(t, out.String(), "logs kept")
	logs, _ := filepath.Glob(filepath.Join(tmp, "goquiz-demo-*", "logs", "*.log"))
	var names []string
	for _, l := range logs {
		names = append(names, filepath.Base(l))
	}
	assert.ElementsMatch(t, []string{"httpapi.log", "integrator-1.log", "integrator-2.log", "parser.log"}, names)
	csvs, _ := filepath.Glob(filepath.Join(tmp, "goquiz-demo-*", "customers.csv"))
	assert.Empty(t, csvs, "the CSV file is removed even when the logs are kept")
}

func TestDemoInterrupted(t *testing.T) {
	bin := buildPrograms(t)
	o, tmp := demoOptions(t, bin, 200_000)
	ctx, cancel := context.WithCancel(context.Background())
	var out harness.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, &out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "parser started") }, time.Minute, 50*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, errInterrupted)
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30s of its interruption")
	}
	entries, _ := os.ReadDir(tmp)
	assert.Empty(t, entries, "the demo's temporary directory is removed")
}

func TestCheckCatchesEveryShortfall(t *testing.T) {
	good := result{n: 10, parserRan: true, delivered: true, integratorCodes: []int{0, 0}, want: check.Once(10)}
	good.table.Stored, good.table.Sent, good.crm.Accepted = 10, 10, 10
	require.Empty(t, good.failures())

	for name, spoil := range map[string]func(*result){
		"rows stored, want":  func(r *result) { r.table.Stored = 9 },
		"rows sent, want":    func(r *result) { r.table.Sent = 9 },
		"the CRM accepted 9": func(r *result) { r.crm.Accepted = 9 },
		"1 duplicates":       func(r *result) { r.crm.Duplicates = 1 },
		"the parser failed":  func(r *result) { r.parserCode, r.parserStatus = 1, "exit status 1" },
		"did not finish":     func(r *result) { r.parserRan = false },
		"integrator-2":       func(r *result) { r.integratorCodes[1] = 1 },
		"could not read":     func(r *result) { r.crmErr = errors.New("refused") },
		"timed out":          func(r *result) { r.abort = "timed out after 1s" },
		"1 rows rejected":    func(r *result) { r.table.Rejected = 1 },
		"1 conflicts":        func(r *result) { r.crm.HubSpot.Conflicts = 1 },
	} {
		r := good
		r.integratorCodes = []int{0, 0}
		spoil(&r)
		fs := r.failures()
		require.Len(t, fs, 1, name)
		assert.Contains(t, fs[0], name)
		var out bytes.Buffer
		r.write(&out)
		assert.Contains(t, out.String(), "CHECK FAILED: ", name)
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("DSN", "")
	t.Setenv("BIN_DIR", "")
	o, err := parseFlags(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(100_000), o.n)
	assert.Equal(t, 10*time.Minute, o.timeout)

	var help bytes.Buffer
	_, err = parseFlags([]string{"-h"}, &help)
	require.ErrorIs(t, err, errHelp)
	assert.Contains(t, help.String(), "-n int")
	assert.Contains(t, help.String(), "BIN_DIR")

	for _, args := range [][]string{{"-n", "0"}, {"-integrators", "0"}, {"-reset"}, {"extra"}, {"-timeout", "0s"}} {
		_, err := parseFlags(args, nil)
		assert.Error(t, err, args)
	}
}
