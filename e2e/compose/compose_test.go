package compose_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/internal/harness"
	harnesscheck "goquiz/internal/harness/check"
	"goquiz/internal/testbin"
)

// customers is the CUSTOMERS of the test's runs: enough for every
// integrator to claim several times, few enough that starting the stack
// takes most of a run.
const customers = 5000

// Bounds of the steps: failure bounds, far above what they take (a build
// from nothing about 2.5 minutes on two cores, a run about 25 s).
const (
	buildTimeout = 15 * time.Minute
	runTimeout   = 5 * time.Minute
	stopTimeout  = 90 * time.Second // the integrator's stop_grace_period is 20s
	downTimeout  = 3 * time.Minute
)

func TestComposeDemo(t *testing.T) {
	if os.Getenv("COMPOSE_TEST") != "1" {
		t.Skip("set COMPOSE_TEST=1 to build the image and run docker compose up in a Docker engine (README.md, With Docker)")
	}
	// The lines it runs are the README's, also when -run picks this test
	// alone.
	if !checkReadme(t) {
		t.FailNow()
	}
	// SIGINT or SIGTERM ends the step in progress; the stack is still
	// taken down before the test returns. So does SIGPIPE: a SIGTERM to
	// the process group ends the go command at once, and this test's
	// output with it, which would otherwise kill the test at its next line.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	defer stop()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Fatalf("COMPOSE_TEST=1, but no Docker engine answers: %v\n%s", err, lastLines(string(out), 5))
	}
	compose, err := findCompose(ctx)
	require.NoError(t, err)
	crmPort, err := harness.FreePort()
	require.NoError(t, err)
	e := &engine{compose: compose, env: []string{
		"COMPOSE_PROJECT_NAME=" + project,
		"CUSTOMERS=" + strconv.Itoa(customers),
		"CRM_PORT=" + strconv.Itoa(crmPort),
	}}
	t.Chdir(repoRoot)

	// What an interrupted earlier run left is taken down first; what this
	// one starts is taken down at its end, whatever happened.
	e.down(t)
	t.Cleanup(func() { e.down(t) })
	start := time.Now()
	out, err := e.run(ctx, buildTimeout, buildLine)
	require.NoError(t, err, lastLines(out, 40))
	t.Logf("%s build: %s", e.name(), time.Since(start).Round(time.Second))

	for _, tt := range []struct {
		line        string
		integrators int
	}{
		{upLine, 1},
		{scaleLine, 3},
	} {
		if ctx.Err() != nil {
			t.Fatalf("interrupted before %s", tt.line)
		}
		if !e.demo(ctx, t, tt.line, tt.integrators, crmPort) {
			return
		}
	}
}

// demo runs a README line that starts the demo in the foreground until
// the check service has exited, checks that it passed, then ends the run
// with Ctrl-C and takes the stack down. It reports whether it passed;
// when it did not, it has logged the compose logs of the failing services.
func (e *engine) demo(ctx context.Context, t *testing.T, line string, integrators, crmPort int) bool {
	argv := e.argv(line)
	start := time.Now()
	up := testbin.Start(t, argv[0], e.env, argv[1:]...)
	defer func() {
		up.Signal(syscall.SIGINT) // Ctrl-C
		if _, err := up.Wait(stopTimeout); err != nil {
			t.Errorf("%s did not end within %s of Ctrl-C", strings.Join(argv, " "), stopTimeout)
		}
		e.down(t)
	}()

	cs, why := e.waitCheck(ctx, up, start)
	took := time.Since(start)
	if why == "" {
		why = verify(ctx, cs, integrators, crmPort)
	}
	if why != "" {
		t.Errorf("%s (CUSTOMERS=%d): %s after %s", strings.Join(argv, " "), customers, why, took.Round(100*time.Millisecond))
		e.logFailing(ctx, t, cs, up.Output())
		return false
	}
	t.Logf("%s: CHECK PASSED, %d customers, %d integrator(s), %s from up to the check's exit",
		strings.Join(argv, " "), customers, integrators, took.Round(100*time.Millisecond))
	return true
}

// waitCheck waits until the check service has exited, and returns the
// containers as they are then, or why it did not exit.
func (e *engine) waitCheck(ctx context.Context, up *testbin.Process, start time.Time) (map[string][]container, string) {
	var cs map[string][]container
	for {
		var err error
		cs, err = e.containers(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return cs, err.Error()
		case ctx.Err() != nil:
			cs, _ = e.containers(context.WithoutCancel(ctx))
			return cs, "interrupted"
		case len(cs["check"]) == 1 && cs["check"][0].State.Status == "exited":
			return cs, ""
		case time.Since(start) > runTimeout:
			return cs, fmt.Sprintf("the check service did not end within %s", runTimeout)
		}
		if code, err := up.Wait(time.Second); err == nil {
			cs, _ = e.containers(ctx)
			return cs, fmt.Sprintf("compose exited with status %d before the check service ended", code)
		}
	}
}

// verify checks the stack once the check service exited: it passed, the
// parser exited 0, the services that run for good run, healthy and never
// restarted, with the number of integrators asked for, and the CRM's
// counters on the published port say every customer was accepted once.
// It returns why not, or "".
func verify(ctx context.Context, cs map[string][]container, integrators, crmPort int) string {
	check := cs["check"][0]
	if check.State.ExitCode != 0 {
		return fmt.Sprintf("the check service exited %d", check.State.ExitCode)
	}
	if out := logs(ctx, check.ID, 5); !strings.Contains(out, fmt.Sprintf("CHECK PASSED: %d customers", customers)) {
		return fmt.Sprintf("the check service exited 0 without CHECK PASSED: %s", lastLines(out, 2))
	}
	if p := cs["parser"]; len(p) != 1 || p[0].State.Status != "exited" || p[0].State.ExitCode != 0 {
		return fmt.Sprintf("the parser did not exit 0: %v", p)
	}
	if n := len(cs["integrator"]); n != integrators {
		return fmt.Sprintf("%d integrators ran, want %d", n, integrators)
	}
	for _, svc := range []string{"postgres", "httpapi", "integrator"} {
		for _, c := range cs[svc] {
			if c.State.Status != "running" || c.health() != "healthy" || c.RestartCount > 0 {
				return fmt.Sprintf("%s is not running healthy: %v", svc, c)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := mockcrm.FetchStats(ctx, nil, fmt.Sprintf("http://127.0.0.1:%d", crmPort), "")
	if err != nil {
		return fmt.Sprintf("the CRM's counters on CRM_PORT=%d: %v", crmPort, err)
	}
	return strings.Join(harnesscheck.InCRM(st, harnesscheck.Want{Accepted: customers}), "; ")
}

// logFailing logs the state of every container, the end of compose's own
// output and the logs of the failing services: those that exited non-zero
// or restarted, are unhealthy, or never got to run; or all of them when
// only the check failed, whose cause is elsewhere.
func (e *engine) logFailing(ctx context.Context, t *testing.T, cs map[string][]container, upOutput string) {
	ctx = context.WithoutCancel(ctx) // also after an interrupt
	var states, failing []string
	for svc, list := range cs {
		bad := false
		for _, c := range list {
			states = append(states, c.String())
			switch svc {
			case "check", "parser":
				bad = bad || c.State.Status != "exited" || c.State.ExitCode != 0
			default:
				bad = bad || c.State.Status != "running" || c.health() == "unhealthy" || c.RestartCount > 0
			}
		}
		if bad {
			failing = append(failing, svc)
		}
	}
	if len(failing) == 0 || (len(failing) == 1 && failing[0] == "check") {
		failing = failing[:0]
		for svc := range cs {
			failing = append(failing, svc)
		}
	}
	t.Logf("containers: %s", strings.Join(states, "; "))
	t.Logf("the end of %s's output:\n%s", e.name(), lastLines(upOutput, 30))
	for _, svc := range failing {
		for _, c := range cs[svc] {
			t.Logf("logs of %s (service %s):\n%s", strings.TrimPrefix(c.Name, "/"), svc, logs(ctx, c.ID, 100))
		}
	}
}

// down takes the stack down with the README's line, with a context of its
// own so that it also runs after an interrupt.
func (e *engine) down(t *testing.T) {
	if out, err := e.run(context.Background(), downTimeout, downLine); err != nil {
		t.Errorf("%v\n%s", err, lastLines(out, 20))
	}
}
