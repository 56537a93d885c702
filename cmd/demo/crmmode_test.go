package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/internal/harness"
	"goquiz/internal/harness/check"
)

// The demo's copy of the HubSpot template is the one the repository
// ships, and its settings are those of examples/compose/hubspot.env.
func TestHubSpotModeMatchesTheExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "hubspot", "contact.json"))
	require.NoError(t, err)
	assert.Equal(t, string(b), hubspotContact)

	compose := readEnvFile(t, filepath.Join(repoRoot, "examples", "compose", "hubspot.env"))
	m := modes["hubspot"]
	for k, v := range m.integratorEnv {
		assert.Equal(t, v, compose[k], k)
	}
	assert.True(t, strings.HasSuffix(compose["API_ENDPOINT"], m.path))
	assert.Equal(t, "/examples/hubspot/contact.json", compose["BODY_TEMPLATE"])
}

// readEnvFile reads a file of NAME=value lines, comments and blank lines
// skipped.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	env := map[string]string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q", path, line)
		env[k] = v
	}
	return env
}

func TestModeOf(t *testing.T) {
	for _, name := range []string{"", "goquiz"} {
		m, err := modeOf(name)
		require.NoError(t, err)
		assert.Equal(t, "goquiz", m.name)
		assert.Equal(t, check.Once(50), m.expect(50, 1))
	}
	m, err := modeOf("hubspot")
	require.NoError(t, err)
	want := m.expect(20000, 1)
	assert.Positive(t, want.Rejected, "fake customers share an email now and then")
	assert.Equal(t, int64(20000), want.Sent+want.Rejected)
	_, err = modeOf("salesforce")
	assert.ErrorContains(t, err, "CRM=salesforce")
}

// TestDemoAgainstHubSpot runs the demo with CRM=hubspot: the mock CRM in
// its HubSpot mode, the integrators with the shipped template; customers
// whose email an earlier one took are rejected (409), the others become
// contacts, and the check counts both.
func TestDemoAgainstHubSpot(t *testing.T) {
	bin := buildPrograms(t)
	t.Setenv("CRM", "hubspot")
	o, tmp := demoOptions(t, bin, 5000)
	var err error
	o.crm, err = modeOf("hubspot")
	require.NoError(t, err)
	want := o.crm.expect(o.n, o.seed)
	require.Positive(t, want.Rejected)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), o, &out), out.String())
	for _, re := range []string{
		`speaking hubspot's API`,
		`rows sent\s+` + harness.Group(want.Sent) + `\s+want ` + harness.Group(want.Sent) + `\s+ok`,
		`rows rejected \(an email taken\)\s+` + harness.Group(want.Rejected) + `\s+want ` + harness.Group(want.Rejected) + `\s+ok`,
		`CRM contacts created\s+` + harness.Group(want.Accepted) + `\s+want`,
		`CRM conflicts \(409\)\s+` + harness.Group(want.Conflicts) + `\s+want`,
		`\nCHECK PASSED: 5,000 customers stored once; `,
	} {
		assert.Regexp(t, re, out.String())
	}
	entries, _ := os.ReadDir(tmp)
	assert.Empty(t, entries, "the demo's temporary directory is removed")
}
