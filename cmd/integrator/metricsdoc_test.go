package main_test

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// documentedMetrics returns the goquiz_ metrics of the integrator's table
// in docs/operating.md ("| `goquiz_name{label}` | type | meaning |"),
// by name, with their type.
func documentedMetrics(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operating.md")
	require.NoError(t, err)
	row := regexp.MustCompile("^\\| `(goquiz_[a-z_]+)(\\{[a-z]+\\})?` \\| ([a-z]+) \\|")
	out := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if m := row.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[3]
		}
	}
	require.NotEmpty(t, out, "the metrics table of operating.md")
	return out
}

// exposedMetrics returns the goquiz_ metric families of a metrics page
// in the text format, by name, with their type (its # TYPE lines).
func exposedMetrics(t *testing.T, url string) map[string]string {
	t.Helper()
	code, body := httpGet(url)
	require.Equal(t, 200, code, body)
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "goquiz_") {
			out[f[2]] = f[3]
		}
	}
	return out
}

// TestMetricsTableIsWhatTheIntegratorServes fails when the integrator's
// metrics table of docs/operating.md names a metric the integrator does
// not serve from its start, misses one it serves, or gives it another
// type.
func TestMetricsTableIsWhatTheIntegratorServes(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, crm := newRecorder(mockcrm.Config{})
	defer crm.Close()
	addr := testbin.FreeAddr(t)
	p := testbin.Start(t, integrator(t), env(dsn, crm.URL, "METRICS_LISTEN="+addr, "GIVE_UP_ON=409,422"))
	assert.Eventually(t, func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, documentedMetrics(t), exposedMetrics(t, "http://"+addr+"/metrics"))
	stopGracefully(t, p)
}
