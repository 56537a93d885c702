package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"goquiz/impl/mockcrm"
)

// The rate-limited CRM of the rate-limit targets: R requests per second
// with a burst of a tenth of it, 2 ms a request.
const (
	limitRPS     = 500
	limitBurst   = 50
	limitLatency = 2 * time.Millisecond
)

// limitedCRM is a rate-limited mock CRM on a loopback port that notes when
// the first request came and the last customer was accepted.
type limitedCRM struct {
	crm
	first, lastAccept atomic.Int64 // unix nanoseconds
}

func startLimitedCRM() (*limitedCRM, error) {
	c := &limitedCRM{crm: crm{srv: mockcrm.New(mockcrm.Config{RateLimitRPS: limitRPS, RateLimitBurst: limitBurst, Latency: limitLatency})}}
	return c, c.serve(c)
}

// ServeHTTP passes the request to the mock and notes the times.
func (c *limitedCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.first.CompareAndSwap(0, time.Now().UnixNano())
	sw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
	c.srv.ServeHTTP(sw, r)
	if sw.code == http.StatusOK {
		c.lastAccept.Store(time.Now().UnixNano())
	}
}

// codeWriter remembers the status written.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// limited is what one rate-limited run measured.
type limited struct {
	rate    float64 // customers accepted per second, first request to last acceptance
	refused float64 // share of all requests refused by the rate limit
	st      mockcrm.Stats
}

// deliverLimited delivers n preloaded records through integrators
// integrators (WORKERS=8, the defaults otherwise, env added) to the
// rate-limited CRM.
func (b *bench) deliverLimited(ctx context.Context, n int64, integrators int, env ...string) (limited, error) {
	dsn, err := b.preload(ctx, n)
	if err != nil {
		return limited{}, err
	}
	crm, err := startLimitedCRM()
	if err != nil {
		return limited{}, err
	}
	defer crm.close()
	var ps []*exec.Cmd
	defer func() {
		for _, p := range ps {
			_ = p.Process.Kill()
		}
	}()
	for range integrators {
		p, err := b.startIntegrator(dsn, crm.URL, 8, env...)
		if err != nil {
			return limited{}, err
		}
		ps = append(ps, p)
	}
	if _, err := waitAccepted(ctx, crm.srv, n); err != nil {
		return limited{}, err
	}
	if err := waitAllSent(ctx, dsn); err != nil {
		return limited{}, err
	}
	for _, p := range ps {
		_ = p.Process.Signal(syscall.SIGTERM)
		_ = p.Wait()
	}
	ps = nil
	st := crm.srv.Stats()
	if st.Duplicates != 0 || st.Accepted != n {
		return limited{}, fmt.Errorf("the CRM accepted %d of %d customers, %d duplicates", st.Accepted, n, st.Duplicates)
	}
	span := time.Duration(crm.lastAccept.Load() - crm.first.Load())
	return limited{rate: float64(n) / span.Seconds(), refused: float64(st.Throttled) / float64(st.Requests), st: st}, nil
}

// rateLimit measures the rate-limit targets: the customers accepted per
// second against the CRM's allowed rate R, and the share of requests
// refused, alone, with MAX_RATE=R and with two integrators.
func (b *bench) rateLimit(ctx context.Context) ([]row, error) {
	n := b.limitN
	runs := []struct {
		name        string
		integrators int
		env         []string
		minRatio    float64
		maxRefused  float64
	}{
		{"", 1, nil, 0.9, 0.05},
		{", MAX_RATE=500", 1, []string{"MAX_RATE=500"}, 0.95, 0.01},
		{", two integrators", 2, nil, 0.85, 0.10},
	}
	var rows []row
	for _, r := range runs {
		m, err := b.deliverLimited(ctx, n, r.integrators, r.env...)
		if err != nil {
			return nil, err
		}
		ratio := m.rate / limitRPS
		b.logf("rate limit%s: %.0f/s accepted, %.1f%% of %d requests refused", r.name, m.rate, 100*m.refused, m.st.Requests)
		rows = append(rows, row{
			target:   fmt.Sprintf("7. deliver %d to a CRM allowing %d/s (burst %d, 2 ms)%s", n, limitRPS, limitBurst, r.name),
			measured: fmt.Sprintf("%.0f/s accepted, %.1f%% of %d requests refused", m.rate, 100*m.refused, m.st.Requests),
			ratio:    ratio,
			bound:    fmt.Sprintf(">= %.2f, <= %.0f%% refused", r.minRatio, 100*r.maxRefused),
			pass:     ratio >= r.minRatio && m.refused <= r.maxRefused,
		})
	}
	return rows, nil
}
