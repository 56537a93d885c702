package main

import (
	"testing"

	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

// TestConfigurationDoc fails when the parser's table in
// docs/configuration.md and its configuration differ (a variable missing
// on either side, or another default), or when a page about the parser
// repeats one of its variables in a settings table with another default.
func TestConfigurationDoc(t *testing.T) {
	vars := cli.Vars(defaultConfig())
	configdoc.Check(t, "../../docs/configuration.md", "parser", vars)
	configdoc.CheckPages(t, "../../docs", []string{"csv-input.md", "daily-exports.md", "parser.md"}, vars)
}
