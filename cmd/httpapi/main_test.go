package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"goquiz/internal/promtest"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/mockcrm"
	"goquiz/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// envNames are the variables the command reads, kept out of the test's
// own environment when running it.
var envNames = []string{
	"API_LISTEN", "API_TOKEN", "FAIL_RATE", "RATE_LIMIT_RATE", "RATE_LIMIT_RPS", "RATE_LIMIT_BURST", "RATE_LIMIT_WINDOW", "RATE_LIMIT_WINDOW_MAX", "RETRY_AFTER", "LATENCY",
	"LATENCY_JITTER", "HANG_RATE", "HANG_FOR", "OUTAGE_EVERY", "OUTAGE_FOR",
	"MAX_BODY_BYTES", "SEED", "LOG_INTERVAL", "METRICS_LISTEN", "LOG_FORMAT", "API_MODE", "HUBSPOT_RATE_LIMIT",
}

// command returns the command running bin with args and, over a clean
// environment, env. It is killed if still running at the end of the test.
func command(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), bin, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(envNames, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// exitCode returns the exit code of a finished command.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	return ee.ExitCode()
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testbin.Build(t, "goquiz/cmd/httpapi")

	t.Run("serves and shuts down on SIGTERM", func(t *testing.T) {
		const token = "t0ps3cret"
		addr := testbin.FreeAddr(t)
		cmd := command(t, bin, []string{"API_LISTEN=" + addr, "API_TOKEN=" + token, "LOG_INTERVAL=50ms"})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		base := "http://" + addr
		waitReady(t, base+"/stats", token)

		body := `{"id":42,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":""}`
		resp := send(t, http.MethodPost, base+"/customers", body, map[string]string{
			"Content-Type":    "application/json",
			"Idempotency-Key": common.IdempotencyKey(42),
			"Authorization":   "Bearer " + token,
		})
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		resp = send(t, http.MethodGet, base+"/stats", "", map[string]string{"Authorization": "Bearer " + token})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var st mockcrm.Stats
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		assert.Equal(t, int64(1), st.Requests)
		assert.Equal(t, int64(1), st.Accepted)

		time.Sleep(100 * time.Millisecond) // let a stats line be logged
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-exited:
			assert.Equal(t, 0, exitCode(t, err), "stderr: %s", stderr.String())
		case <-time.After(15 * time.Second):
			t.Fatal("no exit after SIGTERM")
		}
		logs := stderr.String()
		assert.Contains(t, logs, "httpapi starting")
		assert.Contains(t, logs, "token=***")
		assert.Contains(t, logs, "accepted=1")
		assert.NotContains(t, logs, token)
	})

	t.Run("serves metrics on METRICS_LISTEN", func(t *testing.T) {
		addr, metricsAddr := testbin.FreeAddr(t), testbin.FreeAddr(t)
		cmd := command(t, bin, []string{"API_LISTEN=" + addr, "METRICS_LISTEN=" + metricsAddr, "FAIL_RATE=0.5", "SEED=3"})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		base, metricsBase := "http://"+addr, "http://"+metricsAddr
		waitReady(t, base+"/stats", "")
		waitReady(t, metricsBase+"/healthz", "")
		waitReady(t, metricsBase+"/readyz", "")

		before := promtest.Scrape(t, metricsBase+"/metrics")
		assert.Equal(t, 0.0, before["goquiz_mockcrm_requests_total"])
		const n = 20
		for id := 1; id <= n; id++ {
			body := fmt.Sprintf(`{"id":%d,"first_name":"a","last_name":"b","email":"c","phone":"d"}`, id)
			send(t, http.MethodPost, base+"/customers", body, map[string]string{"Idempotency-Key": common.IdempotencyKey(int64(id))})
		}
		after := promtest.Scrape(t, metricsBase+"/metrics")
		assert.Equal(t, float64(n), after["goquiz_mockcrm_requests_total"])
		assert.Positive(t, after[`goquiz_mockcrm_faults_total{kind="fail"}`])
		assert.Equal(t, float64(n), after["goquiz_mockcrm_accepted_total"]+after[`goquiz_mockcrm_faults_total{kind="fail"}`])
		resp := send(t, http.MethodGet, base+"/metrics", "", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "metrics are not on the API's address")

		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-exited:
			assert.Equal(t, 0, exitCode(t, err), "stderr: %s", stderr.String())
		case <-time.After(15 * time.Second):
			t.Fatal("no exit after SIGTERM")
		}
		_, err := http.Get(metricsBase + "/healthz")
		assert.Error(t, err, "the metrics server stops with the API")
	})

	// Every authorized request to a customer path is either throttled or
	// admitted (docs/mockcrm.md), in HubSpot's mode as in goquiz's: a
	// limit of 3, 5 requests (one of them a body the API refuses).
	t.Run("every request throttled or admitted", func(t *testing.T) {
		tests := []struct {
			name       string
			env        []string
			path, good string
			bad        string
		}{
			{"goquiz", []string{"RATE_LIMIT_WINDOW=1m", "RATE_LIMIT_WINDOW_MAX=3"}, "/customers",
				`{"id":%d,"first_name":"a","last_name":"b","email":"c%d@example.com","phone":"d"}`, `{"id":1}`},
			{"hubspot", []string{"API_MODE=hubspot", "HUBSPOT_RATE_LIMIT=3"}, mockcrm.HubSpotContactsPath,
				`{"properties":{"firstname":"a%d","email":"c%d@example.com"}}`, `{"properties":{"email":"not an email"}}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				addr := testbin.FreeAddr(t)
				cmd := command(t, bin, append([]string{"API_LISTEN=" + addr}, tt.env...))
				require.NoError(t, cmd.Start())
				defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
				base := "http://" + addr
				waitReady(t, base+"/stats", "")
				codes := map[int]int{}
				for id := 1; id <= 5; id++ {
					body := fmt.Sprintf(tt.good, id, id)
					if id == 2 {
						body = tt.bad
					}
					resp := send(t, http.MethodPost, base+tt.path, body, map[string]string{
						"Content-Type": "application/json", "Idempotency-Key": common.IdempotencyKey(int64(id))})
					codes[resp.StatusCode]++
				}
				assert.Equal(t, 2, codes[http.StatusTooManyRequests], codes)
				resp := send(t, http.MethodGet, base+"/stats", "", nil)
				var st mockcrm.Stats
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
				assert.Equal(t, int64(5), st.Requests)
				assert.Equal(t, int64(2), st.Throttled)
				assert.Equal(t, int64(3), st.Admitted, "the requests the limit let through, the refused body among them")
				assert.Equal(t, int64(2), st.Accepted)
				assert.Equal(t, int64(1), st.BadRequests)
			})
		}
	})

	t.Run("metrics port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		cmd := command(t, bin, []string{"API_LISTEN=" + testbin.FreeAddr(t), "METRICS_LISTEN=" + ln.Addr().String()})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		assert.Equal(t, 1, exitCode(t, err))
		got := lines(stderr.String())
		require.NotEmpty(t, got)
		last := got[len(got)-1]
		assert.Contains(t, last, "address already in use")
		assert.Contains(t, last, "set METRICS_LISTEN to a free host:port")
	})

	t.Run("invalid configuration", func(t *testing.T) {
		tests := []struct {
			env  string
			want string
		}{
			{"FAIL_RATE=2", "FAIL_RATE"},
			{"RATE_LIMIT_RATE=-0.1", "RATE_LIMIT_RATE"},
			{"FAIL_RATE=lots", "FAIL_RATE"},
			{"LATENCY=-1s", "LATENCY"},
			{"HANG_FOR=ten", "HANG_FOR"},
		}
		for _, tt := range tests {
			t.Run(tt.env, func(t *testing.T) {
				cmd := command(t, bin, []string{tt.env, "API_LISTEN=" + testbin.FreeAddr(t)})
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				assert.Equal(t, 2, exitCode(t, err))
				got := lines(stderr.String())
				require.Len(t, got, 1, "stderr: %s", stderr.String())
				assert.True(t, strings.HasPrefix(got[0], "httpapi: "), got[0])
				assert.Contains(t, got[0], tt.want)
				assert.Empty(t, stdout.String())
			})
		}
	})

	t.Run("help", func(t *testing.T) {
		for _, arg := range []string{"-h", "--help"} {
			t.Run(arg, func(t *testing.T) {
				cmd := command(t, bin, nil, arg)
				var stdout bytes.Buffer
				cmd.Stdout = &stdout
				require.NoError(t, cmd.Run())
				for _, name := range envNames {
					assert.Contains(t, stdout.String(), name)
				}
				assert.Contains(t, stdout.String(), ":8080")
				assert.Contains(t, stdout.String(), "Usage:")
			})
		}
	})

	t.Run("port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		cmd := command(t, bin, []string{"API_LISTEN=" + ln.Addr().String()})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		assert.Equal(t, 1, exitCode(t, err))
		got := lines(stderr.String())
		require.NotEmpty(t, got)
		last := got[len(got)-1]
		assert.True(t, strings.HasPrefix(last, "httpapi: listen"), last)
		assert.Contains(t, last, "set API_LISTEN to a free host:port")
		assert.Len(t, got, 1, "stderr: %s", stderr.String())
	})
}

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, url, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// send makes one request and returns its response, whose body is closed
// at the end of the test.
func send(t *testing.T, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
