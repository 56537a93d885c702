// Package pace paces an integrator's requests to the CRM: the Pacer that
// every worker waits on before a request (pacer.go), the adaptive law that
// finds the rate the CRM tolerates from its answers, on a clock of its
// own so that tests simulate it (law.go), and the law's actuator: the
// token bucket on starts, the pause of a spent quota, an announced
// budget's ceiling (limit.go). It owns MAX_RATE and ADAPTIVE_RATE's
// meaning; the simulated matrix of CRMs it is tuned on is in its tests
// (sim_test.go, sim_cases_test.go).
package pace
