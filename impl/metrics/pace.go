package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"goquiz/common"
)

// Pace holds the gauges of an integrator's pacing: the limit on the rate
// of requests to the CRM and the requests allowed in flight. It
// implements common.PaceObserver.
type Pace struct {
	rate, inFlight prometheus.Gauge
}

var _ common.PaceObserver = (*Pace)(nil)

// NewPace returns the pacing gauges, registered in reg, at no limit until
// the Pacer reports one.
func NewPace(reg prometheus.Registerer) *Pace {
	p := &Pace{
		rate: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "delivery_rate_limit",
			Help: "Requests per second this integrator allows itself to start (MAX_RATE, or the rate found from the CRM's 429s and budget); 0 while there is no limit.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "delivery_in_flight_limit",
			Help: "Requests to the CRM this integrator allows in flight at once (WORKERS).",
		}),
	}
	reg.MustRegister(p.rate, p.inFlight)
	return p
}

// Pace sets the gauges.
func (p *Pace) Pace(ratePerSecond float64, inFlight int) {
	p.rate.Set(ratePerSecond)
	p.inFlight.Set(float64(inFlight))
}
