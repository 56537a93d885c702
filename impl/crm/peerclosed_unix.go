//go:build unix

package crm

import (
	"net"
	"syscall"
)

// peerClosed reports, without blocking, whether the other end of conn
// closed it, reset it or sent something: all mean it cannot carry a new
// request. It reads one byte from the socket, which Go keeps non-blocking.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, err := syscall.Read(int(fd), b[:])
		closed = n > 0 || (err != syscall.EAGAIN && err != syscall.EWOULDBLOCK)
		return true // done, whatever the answer: never wait
	})
	return closed || err != nil
}
