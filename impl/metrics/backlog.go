package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"goquiz/common"
)

// BacklogReader reads the store's backlog; *postgres.DB is one.
type BacklogReader interface {
	Backlog(ctx context.Context) (common.Backlog, error)
}

// backlogCollector reads the backlog from the store on every scrape.
type backlogCollector struct {
	store   BacklogReader
	timeout time.Duration

	records, newer, oldest, up *prometheus.Desc
}

// NewBacklog returns a collector of the store's backlog, read on every
// scrape within timeout: goquiz_records{state}, the pending records with
// a newer version (goquiz_records_newer_version), the age of the oldest
// undelivered record, and goquiz_store_up, 0 when the store could not be
// read (the backlog is then left out of the scrape).
func NewBacklog(store BacklogReader, timeout time.Duration) prometheus.Collector {
	return &backlogCollector{
		store:   store,
		timeout: timeout,
		records: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "records"),
			"Stored records by delivery state: pending (due or never tried), in_flight (leased by an integrator), waiting_retry (failed before, not due yet), sent, failed (given up after MAX_ATTEMPTS), rejected (refused by the CRM for good, GIVE_UP_ON).",
			[]string{"state"}, nil),
		newer: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "records_newer_version"),
			"Pending records waiting to be sent with a newer version of their values (changed by a load in SYNC_MODE=upsert); counted in goquiz_records too.", nil, nil),
		oldest: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "oldest_undelivered_age_seconds"),
			"Age of the oldest record not sent yet (pending or failed); 0 when every record is sent.", nil, nil),
		up: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "store_up"),
			"1 when the store's backlog could be read during this scrape, 0 otherwise.", nil, nil),
	}
}

// Describe sends the descriptors of the backlog metrics.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.records
	ch <- c.newer
	ch <- c.oldest
	ch <- c.up
}

// Collect reads the backlog and sends its metrics.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	b, err := c.store.Backlog(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range []struct {
		state string
		n     int64
	}{
		{"pending", b.Pending}, {"in_flight", b.InFlight}, {"waiting_retry", b.WaitingRetry},
		{"sent", b.Sent}, {"failed", b.Failed}, {"rejected", b.Rejected},
	} {
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(s.n), s.state)
	}
	ch <- prometheus.MustNewConstMetric(c.newer, prometheus.GaugeValue, float64(b.NewerVersion))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.OldestUndelivered.Seconds())
}
