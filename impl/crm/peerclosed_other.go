//go:build !unix

package crm

import "net"

// peerClosed cannot look at the socket on this system: it reports false,
// and a connection closed while idle fails the request sent on it (which
// retryOnClosedConn then sends again, once).
func peerClosed(net.Conn) bool { return false }
