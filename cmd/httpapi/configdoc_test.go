package main

import (
	"testing"

	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

// TestConfigurationDoc fails when the httpapi's table in
// docs/configuration.md and its configuration differ (a variable missing
// on either side, or another default), or when a page about the httpapi
// repeats one of its variables in a settings table with another default.
func TestConfigurationDoc(t *testing.T) {
	vars := cli.Vars(defaultConfig())
	configdoc.Check(t, "../../docs/configuration.md", "httpapi", vars)
	configdoc.CheckPages(t, "../../docs", []string{"mockcrm.md", "crm-api.md"}, vars)
}
