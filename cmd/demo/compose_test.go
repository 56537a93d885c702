package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"goquiz/internal/harness"
)

// repoRoot is the repository's root, seen from this package's directory.
const repoRoot = "../.."

// composeService is what the tests read of a docker-compose.yml service.
type composeService struct {
	Image         string         `yaml:"image"`
	Build         any            `yaml:"build"`
	Command       any            `yaml:"command"`     // a list, or a string split on spaces
	Environment   any            `yaml:"environment"` // a map, or a list of NAME=value
	Ports         []any          `yaml:"ports"`
	ContainerName string         `yaml:"container_name"`
	Healthcheck   map[string]any `yaml:"healthcheck"`
	DependsOn     any            `yaml:"depends_on"` // a map with conditions, or a bare list
	Restart       string         `yaml:"restart"`
	EnvFile       []string       `yaml:"env_file"`
	Volumes       []string       `yaml:"volumes"`
}

// readCompose parses the repository's docker-compose.yml.
func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &f), "docker-compose.yml is not valid YAML")
	require.NotEmpty(t, f.Services, "docker-compose.yml has no services")
	return f.Services
}

// program returns the goquiz program a service runs (parser, integrator,
// httpapi), or "" for another command. Without a command it is the image's
// default, the Dockerfile's CMD.
func (s composeService) program(t *testing.T) string {
	var argv []string
	switch c := s.Command.(type) {
	case nil:
		if s.Build == nil {
			return "" // another image, such as postgres
		}
		argv = dockerfileCmd(t)
	case string:
		argv = strings.Fields(c)
	case []any:
		for _, a := range c {
			argv = append(argv, fmt.Sprint(a))
		}
	default:
		t.Fatalf("command %v is neither a string nor a list", c)
	}
	if len(argv) > 0 && slices.Contains(harness.Programs, "goquiz/cmd/"+filepath.Base(argv[0])) {
		return filepath.Base(argv[0])
	}
	return ""
}

// envNames returns the names of the variables a service sets.
func (s composeService) envNames(t *testing.T) []string {
	var names []string
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k := range e {
			names = append(names, k)
		}
	case []any:
		for _, kv := range e {
			name, _, _ := strings.Cut(fmt.Sprint(kv), "=")
			names = append(names, name)
		}
	default:
		t.Fatalf("environment %v is neither a map nor a list", e)
	}
	slices.Sort(names)
	return names
}

// dependsOn returns the services a service waits for, with their
// conditions ("" for the bare list form, which waits for nothing).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	deps := map[string]string{}
	switch d := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, name := range d {
			deps[fmt.Sprint(name)] = ""
		}
	case map[string]any:
		for name, v := range d {
			m, _ := v.(map[string]any)
			cond, _ := m["condition"].(string)
			deps[name] = cond
		}
	default:
		t.Fatalf("depends_on %v is neither a map nor a list", d)
	}
	return deps
}

// dockerfileCmd returns the exec-form CMD of the Dockerfile's last stage.
func dockerfileCmd(t *testing.T) []string {
	var cmd []string
	for _, line := range dockerfileLines(t) {
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			cmd = nil
			for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(rest, -1) {
				cmd = append(cmd, m[1])
			}
		}
	}
	return cmd
}

// dockerfileLines returns the Dockerfile's instructions, without comments
// and blank lines, continuation lines joined.
func dockerfileLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return lines
}

// variableName is how the programs' variables are spelled.
var variableName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// knownVariables runs each program's -h and returns, by program, the
// variables in the table its help ends with: the lines after the header
// line that starts with VARIABLE.
func knownVariables(t *testing.T) map[string][]string {
	t.Helper()
	bin := buildPrograms(t)
	known := map[string][]string{}
	for _, pkg := range harness.Programs {
		name := filepath.Base(pkg)
		out, err := exec.Command(filepath.Join(bin, name), "-h").Output()
		require.NoError(t, err, "%s -h", name)
		inTable := false
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			switch {
			case len(fields) > 0 && fields[0] == "VARIABLE":
				inTable = true
			case inTable && len(fields) > 0 && variableName.MatchString(fields[0]):
				known[name] = append(known[name], fields[0])
			}
		}
		require.NotEmpty(t, known[name], "found no variable table in %s -h:\n%s", name, out)
	}
	return known
}

func TestKnownVariablesFromHelp(t *testing.T) {
	known := knownVariables(t)
	assert.Contains(t, known["parser"], "CHUNK_SIZE")
	assert.NotContains(t, known["parser"], "API_ENDPOINT")
	assert.Contains(t, known["integrator"], "API_ENDPOINT")
	assert.Contains(t, known["integrator"], "RETRY_MAX_DELAY")
	assert.Contains(t, known["httpapi"], "API_LISTEN")
	assert.Contains(t, known["httpapi"], "LATENCY_JITTER")
	assert.NotContains(t, known["httpapi"], "DSN")
}

// TestComposeEnvironmentIsKnown fails when docker-compose.yml sets a
// variable that the program of its service does not read: a misspelt or
// stale name would be ignored silently at run time.
func TestComposeEnvironmentIsKnown(t *testing.T) {
	known := knownVariables(t)
	ran := map[string]bool{}
	for name, svc := range readCompose(t) {
		prog := svc.program(t)
		if prog == "" {
			continue
		}
		ran[prog] = true
		for _, v := range svc.envNames(t) {
			assert.Contains(t, known[prog], v, "service %s sets %s, which %s does not read (see %s -h)", name, v, prog, prog)
		}
	}
	for _, pkg := range harness.Programs {
		assert.True(t, ran[filepath.Base(pkg)], "no service runs %s", filepath.Base(pkg))
	}
}

// TestComposeSpeaksEachCRM checks CRM=…: the mock CRM's API_MODE follows
// it, and the integrators read examples/compose/$CRM.env, whose variables
// the integrator reads, whose template is in the examples directory they
// mount, and whose API the mock CRM serves.
func TestComposeSpeaksEachCRM(t *testing.T) {
	known := knownVariables(t)
	services := readCompose(t)
	api, _ := services["httpapi"].Environment.(map[string]any)
	assert.Equal(t, "${CRM:-goquiz}", api["API_MODE"])
	in := services["integrator"]
	require.Equal(t, []string{"./examples/compose/${CRM:-goquiz}.env"}, in.EnvFile)
	assert.Contains(t, in.Volumes, "./examples:/examples:ro")
	assert.NotContains(t, in.envNames(t), "API_ENDPOINT", "the CRM's file sets it")
	for _, crm := range []string{"goquiz", "hubspot"} {
		env := readEnvFile(t, filepath.Join(repoRoot, "examples", "compose", crm+".env"))
		for k := range env {
			assert.Contains(t, known["integrator"], k, "examples/compose/%s.env sets %s, which the integrator does not read", crm, k)
		}
		require.Contains(t, env, "API_ENDPOINT", crm)
		if tpl, ok := env["BODY_TEMPLATE"]; ok {
			rel, found := strings.CutPrefix(tpl, "/examples/")
			require.True(t, found, "%s: BODY_TEMPLATE %s is under the mounted /examples", crm, tpl)
			_, err := os.Stat(filepath.Join(repoRoot, "examples", rel))
			assert.NoError(t, err)
		}
		mode, err := modeOf(crm)
		require.NoError(t, err)
		assert.Equal(t, "http://httpapi:8080"+mode.path, env["API_ENDPOINT"], "the path the mock serves in its %s mode", crm)
	}
}

func TestComposeServicesWaitForHealth(t *testing.T) {
	services := readCompose(t)
	for _, name := range []string{"postgres", "httpapi", "integrator", "parser"} {
		require.Contains(t, services, name)
	}
	// Every service that runs for good has a health check; one-shot jobs
	// such as the parser need none.
	for _, name := range []string{"postgres", "httpapi", "integrator"} {
		assert.NotEmpty(t, services[name].Healthcheck["test"], "service %s has no healthcheck", name)
	}
	for name, svc := range services {
		if svc.Healthcheck == nil {
			assert.Equal(t, "no", svc.Restart, "service %s runs for good but has no healthcheck", name)
		}
		for dep, cond := range svc.dependsOn(t) {
			require.Contains(t, services, dep, "service %s depends on an unknown service", name)
			switch cond {
			case "service_healthy":
				assert.NotNil(t, services[dep].Healthcheck, "service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			case "service_completed_successfully":
				assert.Equal(t, "no", services[dep].Restart, "service %s waits for %s to complete, which restarts", name, dep)
			default:
				t.Errorf("service %s depends on %s with condition %q: want service_healthy or service_completed_successfully", name, dep, cond)
			}
		}
	}
	for _, name := range []string{"integrator", "parser"} {
		assert.Equal(t, "service_healthy", services[name].dependsOn(t)["postgres"], "service %s must wait for a healthy postgres", name)
	}
	assert.Equal(t, "service_healthy", services["integrator"].dependsOn(t)["httpapi"])
	// The integrator's health check gates the demo: the check starts once
	// every integrator is ready, and a broken one fails the start.
	require.Contains(t, services, "check")
	assert.Equal(t, "service_healthy", services["check"].dependsOn(t)["integrator"], "the check must wait for healthy integrators")
	assert.Equal(t, "service_completed_successfully", services["check"].dependsOn(t)["parser"])
	assert.Equal(t, "no", services["parser"].Restart, "the parser is a one-shot job")

	// docker compose up --scale integrator=3 needs distinct names and no
	// host port.
	in := services["integrator"]
	assert.Empty(t, in.ContainerName, "integrator must not set container_name: --scale would clash")
	assert.Empty(t, in.Ports, "integrator must not publish ports: --scale would clash")
	for name, svc := range services {
		if svc.program(t) != "" {
			assert.NotNil(t, svc.Build, "service %s must build the image from the Dockerfile", name)
		}
	}
}

func TestDockerfile(t *testing.T) {
	lines := dockerfileLines(t)
	var froms, users []string
	var build string
	lastFrom := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "FROM "):
			froms = append(froms, l)
			lastFrom = i
			users = nil
		case strings.HasPrefix(l, "USER "):
			users = append(users, strings.TrimSpace(strings.TrimPrefix(l, "USER ")))
		case strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build"):
			build = l
		}
	}
	require.GreaterOrEqual(t, len(froms), 2, "the Dockerfile must be multi-stage")
	require.NotEmpty(t, users, "the runtime stage must set a USER")
	user := users[len(users)-1]
	assert.NotContains(t, []string{"root", "0", "0:0", "root:root"}, user, "the runtime stage must not run as root")

	require.NotEmpty(t, build, "no RUN go build in the Dockerfile")
	cgoOff := strings.Contains(build, "CGO_ENABLED=0")
	for _, l := range lines[:lastFrom] {
		cgoOff = cgoOff || (strings.HasPrefix(l, "ENV ") && strings.Contains(l, "CGO_ENABLED=0"))
	}
	assert.True(t, cgoOff, "the build must set CGO_ENABLED=0 for static binaries")
	for _, pkg := range harness.Programs {
		assert.Contains(t, build, "./cmd/"+filepath.Base(pkg), "the image must hold %s", filepath.Base(pkg))
	}
	assert.Equal(t, dependencyImports(t), dockerfileDependencies(t, lines),
		"the Dockerfile's RUN go build of the dependencies must list the packages goquiz's programs import from other modules")
	var copied bool
	for _, l := range lines[lastFrom:] {
		copied = copied || strings.HasPrefix(l, "COPY --from=")
	}
	assert.True(t, copied, "the runtime stage must copy the binaries from the build stage")
	assert.Equal(t, []string{"integrator"}, dockerfileCmd(t))

	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	assert.Contains(t, strings.Fields(string(ignore)), ".git", ".dockerignore must keep .git out of the build context")
}

// dockerfileDependencies returns the packages of the Dockerfile's RUN go
// build that compiles the dependencies (the one that builds no ./cmd/),
// sorted.
func dockerfileDependencies(t *testing.T, lines []string) []string {
	t.Helper()
	var pkgs []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "RUN go build ") || strings.Contains(l, "./cmd/") {
			continue
		}
		for _, f := range strings.Fields(strings.TrimPrefix(l, "RUN go build ")) {
			if !strings.HasPrefix(f, "-") {
				pkgs = append(pkgs, f)
			}
		}
	}
	require.NotEmpty(t, pkgs, "the Dockerfile has no RUN go build of the dependencies before COPY . .")
	slices.Sort(pkgs)
	return pkgs
}

// dependencyImports returns the packages of other modules that goquiz's
// packages in the three programs import, sorted.
func dependencyImports(t *testing.T) []string {
	t.Helper()
	gobin, err := harness.GoCommand()
	require.NoError(t, err)
	args := append([]string{"list", "-deps", "-f",
		`{{if and (not .Standard) (eq .Module.Path "goquiz")}}{{range .Imports}}{{.}} {{end}}{{end}}`}, harness.Programs...)
	cmd := exec.Command(gobin, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err, "go list")
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(p, "/")
		if strings.Contains(first, ".") && !slices.Contains(pkgs, p) { // a module path, not the standard library nor goquiz
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}
