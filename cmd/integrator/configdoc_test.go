package main

import (
	"path/filepath"
	"testing"

	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

// TestConfigurationDoc fails when the integrator's table in
// docs/configuration.md and its configuration differ: a variable missing
// on either side, or another default.
func TestConfigurationDoc(t *testing.T) {
	configdoc.Check(t, "../../docs/configuration.md", "integrator", cli.Vars(defaultConfig()))
}

// TestDocsPagesGiveTheDefaults fails when a page of docs/ about the
// program repeats one of
// the integrator's variables in a table with another default than the
// program's.
func TestDocsPagesGiveTheDefaults(t *testing.T) {
	var pages []string
	for _, p := range []string{"pacing.md", "crm-api.md", "integrator.md", "pgbouncer.md", "operating.md", "failover.md", "daily-exports.md"} {
		pages = append(pages, filepath.Join("../../docs", p))
	}
	configdoc.CheckPages(t, pages, cli.Vars(defaultConfig()))
}
