package testbin

import (
	"fmt"
	"net"
	"strconv"
	"testing"
)

// FreePort returns a TCP port of the loopback interface that was free a
// moment ago: another process may take it before the caller binds it, so
// a caller that can retries with another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr returns a loopback host:port whose port was free a moment ago,
// failing the test when none can be found.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
