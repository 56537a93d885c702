// Package metrics exposes goquiz's metrics in the Prometheus exposition
// format, with the client library: the delivery counters of an integrator
// (an implementation of common.DeliveryObserver), its backlog read from the store
// on every scrape, the mock CRM's counters, and an HTTP handler serving
// /metrics, /healthz and /readyz.
//
// Every process uses its own registry (NewRegistry), never the global one.
// Metric names start with goquiz_.
package metrics
