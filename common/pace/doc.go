// Package pace paces an integrator's requests to the CRM: the Pacer every
// worker waits on before a request (pacer.go), and the adaptive law that
// finds the rate the CRM tolerates from its answers, on a clock of its own
// so that tests simulate it (law.go), with the counts it reads
// (counts.go). It owns MAX_RATE's and ADAPTIVE_RATE's meaning; the
// simulated matrix of CRMs it is tuned on is in its tests (sim_test.go,
// sim_cases_test.go).
package pace
