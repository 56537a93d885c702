package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"goquiz/impl/mockcrm"
)

// mockCRMCollector turns the mock CRM's counters into metrics on every
// scrape.
type mockCRMCollector struct {
	stats func() mockcrm.Stats

	requests, accepted, duplicates, badRequests, unauthorized, throttled, admitted, faults *prometheus.Desc
}

// NewMockCRM returns a collector of the counters stats returns, as from
// (*mockcrm.Server).Stats.
func NewMockCRM(stats func() mockcrm.Stats) prometheus.Collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "mockcrm", name), help, labels, nil)
	}
	return &mockCRMCollector{
		stats:        stats,
		requests:     desc("requests_total", "Requests to customer paths, whatever their outcome."),
		accepted:     desc("accepted_total", "Requests answered 200 with a new idempotency key."),
		duplicates:   desc("duplicates_total", "Requests answered 200 with an idempotency key accepted before."),
		badRequests:  desc("bad_requests_total", "Requests refused for their method, size or body (405, 413, 400)."),
		unauthorized: desc("unauthorized_total", "Requests refused for a missing or wrong token (401)."),
		throttled:    desc("throttled_total", "Requests refused 429 by the rate limits (RATE_LIMIT_RPS, RATE_LIMIT_WINDOW), apart from the random 429s counted as faults."),
		admitted:     desc("admitted_total", "Authorized requests the rate limits let through, whatever followed."),
		faults:       desc("faults_total", "Valid requests answered with an injected fault, by kind: fail (500), rate_limited (429), hang, outage (503).", "kind"),
	}
}

// Describe sends the descriptors of the mock CRM's metrics.
func (c *mockCRMCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.accepted, c.duplicates, c.badRequests, c.unauthorized, c.throttled, c.admitted, c.faults} {
		ch <- d
	}
}

// Collect reads the counters and sends them.
func (c *mockCRMCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.requests, st.Requests)
	counter(c.accepted, st.Accepted)
	counter(c.duplicates, st.Duplicates)
	counter(c.badRequests, st.BadRequests)
	counter(c.unauthorized, st.Unauthorized)
	counter(c.throttled, st.Throttled)
	counter(c.admitted, st.Admitted)
	counter(c.faults, st.Faults.Fail, "fail")
	counter(c.faults, st.Faults.RateLimited, "rate_limited")
	counter(c.faults, st.Faults.Hang, "hang")
	counter(c.faults, st.Faults.Outage, "outage")
}
