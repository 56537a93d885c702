package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// Scenario 16: the CRM's daily quota is spent mid-delivery: it answers
// 429 with Retry-After: 61 (a minute or more: a quota, not a rate). The
// integrator sends nothing more until then, although the CRM would now
// take requests; `integrator status` shows the pause, /readyz stays
// ready, one log line says until when; then every customer is delivered,
// once.
func TestQuotaPause(t *testing.T) {
	const (
		n     = 2000
		quota = 61 * time.Second
	)
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	path, want := writeInput(t, n, 16)
	crm := newCRM(t, faults{Jitter: time.Millisecond}, 16)
	parsed(t, runParser(t, dsn, path), n, n, 0, 0)
	metrics := testbin.FreeAddr(t)
	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), "WORKERS=4", "METRICS_LISTEN="+metrics))

	start := time.Now()
	waitAccepted(t, crm, n/10)
	crm.setFaults(faults{LimitRate: 1, RetryAfter: int(quota.Seconds())})
	waitFor(t, 10*time.Second, time.Millisecond, "a 429", func() bool { return crm.statusCount(http.StatusTooManyRequests) > 0 })
	spent := time.Now()
	crm.setFaults(faults{Jitter: time.Millisecond}) // it would take them now

	time.Sleep(2 * time.Second) // the requests in flight answered
	inFlight := crm.requestCount()
	res := testbin.Run(t, integratorBin(t), []string{"DSN=" + dsn}, nil, "status")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "the CRM's quota is spent: nothing is sent before")
	ready, err := http.Get("http://" + metrics + "/readyz")
	require.NoError(t, err)
	ready.Body.Close()
	assert.Equal(t, http.StatusOK, ready.StatusCode, "ready while paused")
	assert.Equal(t, 1, strings.Count(p.Output(), "quota is spent"), "one line says until when")

	waitAllSent(t, db, n)
	resumed, ok := crm.firstAcceptedAfter(spent.Add(2 * time.Second))
	require.True(t, ok)
	requireRunning(t, p)
	stopIntegrator(t, p)

	assert.Equal(t, inFlight, crm.arrivedBefore(spent.Add(quota-time.Second)), "no request during the pause")
	assert.GreaterOrEqual(t, resumed.Sub(spent), quota-time.Second, "sending resumed when the quota was renewed")
	assert.Less(t, resumed.Sub(spent), quota+5*time.Second, "and not much later")
	st := checkOnce(t, crm, db, want)
	crm.checkRetryAfter(t)
	figures(t, "16 (CRM quota spent)", n, time.Since(start), st, fmt.Sprintf("429s=%d paused=%s", crm.statusCount(http.StatusTooManyRequests), resumed.Sub(spent).Round(100*time.Millisecond)))
}

// arrivedBefore counts the requests that arrived before t.
func (d *crmDouble) arrivedBefore(t time.Time) int {
	return d.countAttempts(func(a attempt) bool { return a.at.Before(t) })
}
