package cli

import "time"

// The defaults of the database variables the parser and the integrator
// share (DB_TIMEOUT's is postgres.DefaultTimeout).
const (
	// DefaultDSN is the default of DSN: a PostgreSQL server on this
	// machine, without TLS.
	DefaultDSN = "postgres://postgres@localhost:5432/postgres?sslmode=disable"
	// DefaultConnectTimeout is the default of CONNECT_TIMEOUT: how long
	// an unreachable database is retried.
	DefaultConnectTimeout = 10 * time.Second
)
