// Package deliver is the integrator's engine: the Deliverer, which claims
// due records from a common.Queue, sends each to the CRM through a
// common.Publisher and records the outcomes, retrying every failure with
// backoff. It owns the claimer (claimer.go) that keeps the workers fed,
// the workers (worker.go), the settler that writes outcomes in batches
// (settle.go), the lease keeper (leases.go), the claims held in memory
// (holdings.go), the breaker that probes a CRM that looks down
// (breaker.go) with a record claimed for each probe (probe.go), the look
// for newer versions of the records waiting to be sent, given back unsent
// when replaced (replaced.go), the retry delays (backoff.go) and the quota
// pauses written to the store (quota.go). Requests are paced by package
// pace.
package deliver
