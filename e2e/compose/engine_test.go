package compose_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"
)

// project is the compose project name of the test's stack, apart from a
// demo a user may run from the same directory.
const project = "goquiz-compose-test"

// engine runs the README's compose commands against the Docker engine.
type engine struct {
	compose []string // "docker compose", or "docker-compose" (v1) where the plugin is missing
	env     []string // set on every command, over the test's environment
}

// findCompose returns the compose command of the machine: the v2 plugin
// when it answers, else the standalone docker-compose.
func findCompose(ctx context.Context) ([]string, error) {
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err == nil {
		return []string{"docker", "compose"}, nil
	}
	if err := exec.CommandContext(ctx, "docker-compose", "version").Run(); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, errors.New("neither docker compose (the v2 plugin) nor docker-compose (v1) is installed")
}

// name is how the compose command is spelt, for messages.
func (e *engine) name() string { return strings.Join(e.compose, " ") }

// argv returns the words of a README line ("docker compose up …"), spelt
// with the machine's compose command.
func (e *engine) argv(line string) []string {
	argv := strings.Fields(line)
	if len(argv) >= 2 && argv[0] == "docker" && argv[1] == "compose" {
		argv = append(slices.Clone(e.compose), argv[2:]...)
	}
	return argv
}

// run runs a README line to its end within timeout and returns its
// output, stdout and stderr together.
func (e *engine) run(ctx context.Context, timeout time.Duration, line string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := e.argv(line)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), e.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return string(out), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return string(out), nil
}

// container is what the test reads of a container of the stack.
type container struct {
	ID           string `json:"Id"`
	Name         string
	RestartCount int
	State        struct {
		Status   string // created, running, exited, …
		ExitCode int
		Health   *struct{ Status string }
	}
	Config struct{ Labels map[string]string }
}

func (c container) service() string { return c.Config.Labels["com.docker.compose.service"] }

func (c container) health() string {
	if c.State.Health == nil {
		return ""
	}
	return c.State.Health.Status
}

// String describes the container's state in a few words.
func (c container) String() string {
	s := fmt.Sprintf("%s %s", strings.TrimPrefix(c.Name, "/"), c.State.Status)
	if c.State.Status == "exited" {
		s += fmt.Sprintf(" (%d)", c.State.ExitCode)
	}
	if h := c.health(); h != "" {
		s += " " + h
	}
	if c.RestartCount > 0 {
		s += fmt.Sprintf(", restarted %d times", c.RestartCount)
	}
	return s
}

// containers returns the containers of the stack, by service, with their
// state now.
func (e *engine) containers(ctx context.Context) (map[string][]container, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project).Output()
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	ids := strings.Fields(string(out))
	byService := map[string][]container{}
	if len(ids) == 0 {
		return byService, nil
	}
	out, err = exec.CommandContext(ctx, "docker", append([]string{"inspect"}, ids...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	var cs []container
	if err := json.Unmarshal(out, &cs); err != nil {
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	for _, c := range cs {
		byService[c.service()] = append(byService[c.service()], c)
	}
	for _, list := range byService {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	}
	return byService, nil
}

// logs returns the last lines of a container's output.
func logs(ctx context.Context, id string, tail int) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", "--tail", fmt.Sprint(tail), id).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(docker logs %s: %v)\n%s", id, err, out)
	}
	return string(out)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
