package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"goquiz/internal/cli"
	"goquiz/internal/harness"
)

// probes are the times of repeated reads of the backlog, and how many of
// them did not show it.
type probes struct {
	times  []time.Duration
	failed int
}

func (p probes) max() time.Duration {
	if len(p.times) == 0 {
		return 0
	}
	return slices.Max(p.times)
}

func (p probes) String() string {
	if len(p.times) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(p.times))
	out := fmt.Sprintf("max %s, median %s of %d", round(s[len(s)-1]), round(s[len(s)/2]), len(s))
	if p.failed > 0 {
		out += fmt.Sprintf(", %d without the backlog", p.failed)
	}
	return out
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// probeRow is the result row of a read of the backlog that must take at
// most limit, every time.
func probeRow(target string, p probes, limit time.Duration) row {
	return row{
		target: target, measured: p.String(),
		ratio: p.max().Seconds() / limit.Seconds(), bound: "<= " + limit.String(),
		pass: len(p.times) > 0 && p.failed == 0 && p.max() <= limit,
	}
}

// prober reads the backlog the ways an operator does: a scrape of the
// integrator's /metrics and a run of `integrator status`.
type prober struct {
	integrator, dsn, metricsURL string
	client                      *http.Client
}

func (b *bench) prober(dsn, metricsURL string) *prober {
	return &prober{integrator: filepath.Join(b.env.bin, "integrator"), dsn: dsn, metricsURL: metricsURL,
		client: &http.Client{Timeout: 30 * time.Second}}
}

// scrape times one GET of /metrics; ok is false when the page lacks the
// backlog (the store could not be read in time).
func (p *prober) scrape(ctx context.Context) (time.Duration, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return 0, false, err
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("scrape metrics: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, false, fmt.Errorf("scrape metrics: %w", err)
	}
	return took, strings.Contains(string(body), "\ngoquiz_store_up 1\n"), nil
}

// status times one run of `integrator status`, process start included.
func (p *prober) status(ctx context.Context) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, p.integrator, "status")
	cmd.Env = []string{"DSN=" + p.dsn}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("integrator status: %v: %s", err, harness.LastLines(string(out), 1))
	}
	return time.Since(start), nil
}

// times probes k times each way, one after the other.
func (p *prober) times(ctx context.Context, k int) (scrapes, statuses probes, err error) {
	for range k {
		if err := p.probe(ctx, &scrapes, &statuses); err != nil {
			return scrapes, statuses, err
		}
	}
	return scrapes, statuses, nil
}

func (p *prober) probe(ctx context.Context, scrapes, statuses *probes) error {
	d, ok, err := p.scrape(ctx)
	if err != nil {
		return err
	}
	scrapes.times = append(scrapes.times, d)
	if !ok {
		scrapes.failed++
	}
	if d, err = p.status(ctx); err != nil {
		return err
	}
	statuses.times = append(statuses.times, d)
	return nil
}

// every probes each way once per interval until the returned function is
// called, which returns the times. A probe that fails counts as one
// without the backlog.
func (p *prober) every(ctx context.Context, interval time.Duration) func() (probes, probes) {
	ctx, cancel := context.WithCancel(ctx)
	var scrapes, statuses probes
	var wg sync.WaitGroup
	wg.Go(func() {
		cli.Every(ctx, interval, func(ctx context.Context) {
			if err := p.probe(ctx, &scrapes, &statuses); err != nil && ctx.Err() == nil {
				scrapes.failed++
			}
		})
	})
	return func() (probes, probes) {
		cancel()
		wg.Wait()
		return scrapes, statuses
	}
}
