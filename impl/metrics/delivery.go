package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"goquiz/common"
)

// Delivery holds an integrator's delivery metrics, its pacing gauges
// included. It implements common.DeliveryObserver, common.PaceObserver and
// common.QuotaObserver.
type Delivery struct {
	delivered                prometheus.Counter
	retries, rejected        *prometheus.CounterVec
	duration                 prometheus.Histogram
	crmUp                    prometheus.Gauge
	rateLimit, inFlightLimit prometheus.Gauge
	pausedUntil              prometheus.Gauge

	// crmMu guards what crm_up is made of: the CRM looks down to the
	// Deliverer (failures in a row, only probes go out), or it was
	// unreachable at start and has not answered since.
	crmMu     sync.Mutex
	looksDown bool
	// downAtStart is written under crmMu and read without it by every
	// answer: only the answers after a start that found the CRM
	// unreachable take the lock.
	downAtStart atomic.Bool
}

var (
	_ common.DeliveryObserver = (*Delivery)(nil)
	_ common.PaceObserver     = (*Delivery)(nil)
	_ common.QuotaObserver    = (*Delivery)(nil)
	_ common.RejectObserver   = (*Delivery)(nil)
)

// NewDelivery returns the delivery metrics, registered in reg. The CRM
// counts as up, and there is no pacing limit, until the Deliverer reports
// otherwise. The rejected records of each status of giveUpOn (the
// integrator's GIVE_UP_ON) are counted at 0 from the start, so that a
// rate or an alert on them has a series before the first refusal.
func NewDelivery(reg prometheus.Registerer, giveUpOn ...int) *Delivery {
	m := &Delivery{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "records_delivered_total",
			Help: "Records the CRM accepted (HTTP 200) whose state is recorded as sent.",
		}),
		retries: counterVec("delivery_retries_total", "reason",
			"Delivery attempts that failed, by reason: status_NNN for an HTTP status other than 200, timeout, connection, or other."),
		rejected: counterVec("records_rejected_total", "status",
			"Records the CRM refused for good with a status of GIVE_UP_ON, recorded as rejected by this process, by status."),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Duration of requests to the CRM, whatever their outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		crmUp: gauge("crm_up",
			"1 while the CRM answers, 0 while it looks down (failures in a row: only probes are sent) or was unreachable at start and has not answered since."),
		rateLimit: gauge("delivery_rate_limit",
			"Requests per second this integrator allows itself to start (MAX_RATE, or the rate found from the CRM's 429s and budget); 0 while there is no limit."),
		inFlightLimit: gauge("delivery_in_flight_limit",
			"Requests to the CRM this integrator allows in flight at once (WORKERS)."),
		pausedUntil: gauge("delivery_paused_until_seconds",
			"Unix time until which no request is sent because the CRM's quota is spent (a 429 or 503 asking for a minute or more, or a spent budget); 0 when none was."),
	}
	m.crmUp.Set(1)
	for _, e := range []*common.PublishError{common.TimeoutError(nil), common.ConnectionError(nil), {Kind: common.FailOther}} {
		m.retries.WithLabelValues(e.Label()) // present at 0 from the start
	}
	for _, status := range giveUpOn {
		m.rejected.WithLabelValues(strconv.Itoa(status))
	}
	reg.MustRegister(m.delivered, m.retries, m.rejected, m.duration, m.crmUp, m.rateLimit, m.inFlightLimit, m.pausedUntil)
	return m
}

// gauge returns a gauge of goquiz's namespace.
func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}

// counterVec returns a counter of goquiz's namespace with one label.
func counterVec(name, label, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, []string{label})
}

// Attempt records one request's duration and, when it failed, its
// reason (common.PublishError.Label). An answer (a success, or a status
// that does not point at an outage, such as a 4xx) shows that a CRM
// unreachable at start is up; it does not bring back one the Deliverer
// takes as down: a request sent before it went down can still succeed,
// while only probes go out.
func (m *Delivery) Attempt(d time.Duration, failure *common.PublishError) {
	m.duration.Observe(d.Seconds())
	if failure != nil {
		m.retries.WithLabelValues(failure.Label()).Inc()
	}
	if (failure == nil || !failure.Outage()) && m.downAtStart.Load() {
		m.setCRM(func() { m.downAtStart.Store(false) })
	}
}

// CRMDown records the CRM going down or coming back, as the Deliverer
// sees it: coming back is an answer.
func (m *Delivery) CRMDown(down bool) {
	m.setCRM(func() {
		m.looksDown = down
		if !down {
			m.downAtStart.Store(false)
		}
	})
}

// setCRM applies change to the CRM's state and sets crm_up from it.
func (m *Delivery) setCRM(change func()) {
	m.crmMu.Lock()
	defer m.crmMu.Unlock()
	change()
	if m.looksDown || m.downAtStart.Load() {
		m.crmUp.Set(0)
	} else {
		m.crmUp.Set(1)
	}
}

// Settled counts the deliveries written to the store; failed attempts
// are counted by Attempt, as they happen.
func (m *Delivery) Settled(sent, failed int) {
	m.delivered.Add(float64(sent))
}

// Rejected counts n records rejected with the CRM's status.
func (m *Delivery) Rejected(status, n int) {
	m.rejected.WithLabelValues(strconv.Itoa(status)).Add(float64(n))
}

// Pace sets the pacing gauges: the limit on request starts per second (0
// for none) and the requests allowed in flight.
func (m *Delivery) Pace(ratePerSecond float64, inFlight int) {
	m.rateLimit.Set(ratePerSecond)
	m.inFlightLimit.Set(float64(inFlight))
}

// Quota records a quota pause: no request is sent before until.
func (m *Delivery) Quota(until time.Time) {
	m.pausedUntil.Set(float64(until.UnixMilli()) / 1000)
}

// SetCRMUp sets the CRM's state, for a check made outside the Deliverer
// (at start): down until the CRM answers, or the Deliverer takes it as
// down and then back up.
func (m *Delivery) SetCRMUp(up bool) { m.setCRM(func() { m.downAtStart.Store(!up) }) }
