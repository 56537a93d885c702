package postgres_test

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
)

// fullBacklog returns the address of a listening socket that accepts
// nothing and whose queue is full: the kernel drops further SYNs, so a
// TCP connect to it hangs, as to a black-holed host.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the kernel kept accepting connections to a full backlog")
	return ""
}

// A first host whose TCP connect hangs takes a share of the connection's
// time, not all of it.
func TestMultiHostPassesAHostWhoseConnectHangs(t *testing.T) {
	direct := pgtest.DSN(t)
	passesHungFirstHost(t, hostsFirst(t, fullBacklog(t), direct), "hangs on TCP connect")
}
