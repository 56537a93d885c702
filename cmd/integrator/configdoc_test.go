package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

// TestConfigurationDoc fails when the integrator's table in
// docs/configuration.md and its configuration differ (a variable missing
// on either side, or another default), or when a page about the integrator
// repeats one of its variables in a settings table with another default.
func TestConfigurationDoc(t *testing.T) {
	vars := cli.Vars(defaultConfig())
	configdoc.Check(t, "../../docs/configuration.md", "integrator", vars)
	configdoc.CheckPages(t, "../../docs", []string{"pacing.md", "crm-api.md", "integrator.md", "pgbouncer.md", "operating.md", "failover.md", "daily-exports.md"}, vars)
}

// TestReadmeStatesTheVersionKeys fails when README.md does not state the
// form of the Idempotency-Key of each version of a customer the integrator
// sends (issue 22: "the README states the form"), nor SYNC_MODE and the
// dry run.
func TestReadmeStatesTheVersionKeys(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, want := range []string{
		common.IdempotencyKey(42), common.VersionKey(42, 2), "goquiz-customer-<id>-v<n>",
		"SYNC_MODE=upsert", "parser --dry-run PATH", "docs/daily-exports.md",
	} {
		assert.Contains(t, readme, want)
	}
}
