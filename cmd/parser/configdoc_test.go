package main

import (
	"testing"

	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

// TestConfigurationDoc fails when the parser's table in
// docs/configuration.md and its configuration differ: a variable missing
// on either side, or another default.
func TestConfigurationDoc(t *testing.T) {
	configdoc.Check(t, "../../docs/configuration.md", "parser", cli.Vars(defaultConfig()))
}
