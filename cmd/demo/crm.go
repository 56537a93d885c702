package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/harness"
)

// faults is the number of injected faults of every kind.
func faults(s mockcrm.Stats) int64 {
	f := s.Faults
	return f.Fail + f.RateLimited + f.Hang + f.Outage
}

// crm is the mock CRM's address, as the demo reaches it.
type crm struct {
	base   string // http://127.0.0.1:PORT
	path   string // of the endpoint
	token  string // API_TOKEN, when the user set one
	client *http.Client
}

// endpoint is the URL the integrators send customers to.
func (c crm) endpoint() string { return c.base + c.path }

// stats fetches the CRM's counters.
func (c crm) stats(ctx context.Context) (mockcrm.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return mockcrm.FetchStats(ctx, c.client, c.base, c.token)
}

// waitReady waits until the CRM answers GET /stats, or proc exits, or
// timeout passes.
func (c crm) waitReady(ctx context.Context, proc *child, timeout time.Duration) error {
	err := harness.WaitReady(ctx, proc.Process, timeout, "httpapi does not answer at "+c.base, func(ctx context.Context) error {
		_, err := c.stats(ctx)
		return err
	})
	if _, ok := err.(*harness.ExitedError); ok {
		return fmt.Errorf("%w:\n%s", err, proc.tail(5))
	}
	return err
}
