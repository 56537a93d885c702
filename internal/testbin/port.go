package testbin

import (
	"testing"

	"goquiz/internal/harness"
)

// FreePort returns a TCP port of the loopback interface that was free a
// moment ago: another process may take it before the caller binds it, so
// a caller that can retries with another.
func FreePort() (int, error) { return harness.FreePort() }

// FreeAddr returns a loopback host:port whose port was free a moment ago,
// failing the test when none can be found.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
