// Package compose_test runs the compose demo the way README.md's "With
// Docker" section tells a user to, in a real Docker engine: it builds the
// image, runs `docker compose up` (or `docker-compose up` where only the
// standalone v1 is installed) until the check service has ended, requires
// CHECK PASSED and exit status 0, does it again with
// `--scale integrator=3`, and always takes the stack down with
// `docker compose down -v`. The commands it runs are the README's, read
// from it.
//
// It runs only with COMPOSE_TEST=1 (see README.md); without it, only the
// check that the README shows the commands it runs.
package compose_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's root, where docker-compose.yml is.
const repoRoot = "../.."

// The README's command lines that the test runs, word for word. The
// demo's runs set CUSTOMERS and CRM_PORT in the environment, as the
// README's lines that set them show.
const (
	buildLine = "docker compose build"
	upLine    = "docker compose up"
	scaleLine = "docker compose up --scale integrator=3"
	downLine  = "docker compose down -v"
)

// envLines are the README's lines that set a variable of the compose file
// for docker compose up, by variable.
var envLines = map[string]*regexp.Regexp{
	"CUSTOMERS": regexp.MustCompile(`^CUSTOMERS=\d+ docker compose up$`),
	"CRM_PORT":  regexp.MustCompile(`^CRM_PORT=\d+ docker compose up$`),
}

// readmeCommands returns the command lines of the first sh block of
// README.md's "With Docker" section, without their comments.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## With Docker\n")
	require.True(t, ok, `README.md has no "## With Docker" section`)
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "the With Docker section has no sh block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "the sh block of With Docker does not end")
	var cmds []string
	for line := range strings.Lines(block) {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// TestReadmeShowsTheCommandsTheTestRuns fails when README.md's compose
// commands and the ones the compose test runs part: the test follows the
// README word for word.
func TestReadmeShowsTheCommandsTheTestRuns(t *testing.T) {
	checkReadme(t)
}

// checkReadme checks that README.md's With Docker block is the lines the
// compose test runs, both ways: each of the test's lines is in it, and
// each of its lines is one the test runs or one that sets a variable the
// test sets (envLines), each of which it shows. It reports whether they
// agree.
func checkReadme(t *testing.T) bool {
	t.Helper()
	cmds := readmeCommands(t)
	runs := []string{buildLine, upLine, scaleLine, downLine}
	ok := true
	for _, line := range runs {
		ok = assert.Contains(t, cmds, line, "README.md's With Docker block") && ok
	}
	shown := map[string]bool{}
	for _, c := range cmds {
		known := slices.Contains(runs, c)
		for name, re := range envLines {
			if re.MatchString(c) {
				known, shown[name] = true, true
			}
		}
		ok = assert.True(t, known, "README.md's With Docker block shows %q, which the compose test does not run", c) && ok
	}
	for name, re := range envLines {
		ok = assert.True(t, shown[name], "README.md's With Docker block has no line like %q, which shows %s", re, name) && ok
	}
	return ok
}
