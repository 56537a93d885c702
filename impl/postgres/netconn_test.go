package postgres

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoPair returns a loopback TCP connection to a server that echoes what
// it reads, once answer is closed (at once when answer is nil).
func echoPair(t testing.TB, answer <-chan struct{}) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		if answer != nil {
			<-answer
		}
		_, _ = io.Copy(s, s)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTimeoutConnBoundsTheWaitForAnAnswer(t *testing.T) {
	const timeout = 200 * time.Millisecond
	never := make(chan struct{})
	defer close(never)
	c := newTimeoutConn(echoPair(t, never), timeout)
	// Idle: no deadline runs while nothing is awaited.
	time.Sleep(2 * timeout)
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	start := time.Now()
	_, err = c.Read(make([]byte, 4))
	took := time.Since(start)
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), err.Error())
	var oe *net.OpError
	require.ErrorAs(t, err, &oe, "lib/pq takes a *net.OpError for a broken connection")
	assert.InDelta(t, timeout.Seconds(), took.Seconds(), 0.1)
	_, err = c.Conn.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed, "the socket is closed")
}

func TestTimeoutConnExtend(t *testing.T) {
	const timeout = 200 * time.Millisecond
	answer := make(chan struct{})
	c := newTimeoutConn(echoPair(t, answer), timeout)
	_, err := c.Write([]byte("long"))
	require.NoError(t, err)
	go func() { time.Sleep(3 * timeout); close(answer) }()
	// The watchdog sees the server at work, again and again.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(timeout / 4):
				c.Extend(timeout + timeout/4)
			}
		}
	}()
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	close(stop)
	require.NoError(t, err, "an extended answer may take longer than the timeout")

	// No more extensions: the answer must come within the timeout.
	never := make(chan struct{})
	defer close(never)
	c = newTimeoutConn(echoPair(t, never), timeout)
	_, err = c.Write([]byte("lost"))
	require.NoError(t, err)
	c.Extend(2 * timeout)
	start := time.Now()
	_, err = io.ReadFull(c, buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.InDelta(t, (2 * timeout).Seconds(), time.Since(start).Seconds(), 0.1, "bounded from the last extension")
}

// BenchmarkDeadlines measures the work timeoutConn adds to a round trip
// of one write and one read: arming both deadlines, then the read's.
func BenchmarkDeadlines(b *testing.B) {
	c := echoPair(b, nil)
	for b.Loop() {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
}
