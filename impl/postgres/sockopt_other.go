//go:build !linux

package postgres

import (
	"syscall"
	"time"
)

// userTimeout returns nil where TCP_USER_TIMEOUT does not exist: keepalive
// and the connection's own deadlines still bound every round trip.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
