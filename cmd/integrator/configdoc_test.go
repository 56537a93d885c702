package main

import (
	"testing"

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
