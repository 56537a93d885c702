package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/internal/faultproxy"
)

// stopSeen is set by the echo server once it read "STOP".
type stopSeen struct{ atomic.Bool }

func (s *stopSeen) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("STOP")) {
		s.Store(true)
	}
	return len(p), nil
}

// echo starts a server that writes back what it reads.
func echo(t *testing.T) (string, *stopSeen) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	seen := &stopSeen{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.MultiWriter(c, seen), c) }()
		}
	}()
	return ln.Addr().String(), seen
}

func start(t *testing.T) (*faultproxy.Proxy, *stopSeen) {
	t.Helper()
	addr, e := echo(t)
	p, err := faultproxy.Start(addr)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p, e
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads as many bytes back within wait; it
// returns what came back and the read's error.
func roundTrip(c net.Conn, msg string, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func TestFreezeStopsOpenConnectionsAndLetsNewOnesPass(t *testing.T) {
	p, _ := start(t)
	c := dial(t, p)
	got, err := roundTrip(c, "hello", time.Second)
	require.NoError(t, err)
	require.Equal(t, "hello", got)

	require.Equal(t, 1, p.Freeze())
	got, err = roundTrip(c, "again", 300*time.Millisecond)
	assert.Empty(t, got, "nothing is forwarded")
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the socket stays open: the read times out, no EOF: %v", err)
	assert.Equal(t, 1, p.Open())

	fresh := dial(t, p)
	got, err = roundTrip(fresh, "new", time.Second)
	require.NoError(t, err)
	assert.Equal(t, "new", got)
}

func TestRulesFreezeAtAChosenMoment(t *testing.T) {
	tests := []struct {
		name    string
		act     faultproxy.Action
		arrives bool // the matching bytes reach the server (and so come back)
	}{
		{"pass then freeze", faultproxy.PassThenFreeze, true},
		{"hold and freeze", faultproxy.HoldAndFreeze, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, server := start(t)
			c := dial(t, p)
			var seen []faultproxy.Dir
			p.FreezeWhen(func(_ int, dir faultproxy.Dir, data []byte) faultproxy.Action {
				seen = append(seen, dir)
				if dir == faultproxy.ToServer && bytes.Contains(data, []byte("STOP")) {
					return tt.act
				}
				return faultproxy.Pass
			})
			got, err := roundTrip(c, "go", time.Second)
			require.NoError(t, err)
			require.Equal(t, "go", got)
			assert.Equal(t, []faultproxy.Dir{faultproxy.ToServer, faultproxy.ToClient}, seen)

			got, _ = roundTrip(c, "STOP", 300*time.Millisecond)
			assert.Empty(t, got, "the answer is held either way")
			assert.Equal(t, 1, p.Frozen())
			assert.Equal(t, tt.arrives, server.Load(), "the bytes reached the server")
			assert.Len(t, seen, 3, "a frozen proxy asks the rule nothing more")
		})
	}
}

func TestNewConnectionModes(t *testing.T) {
	t.Run("refuse", func(t *testing.T) {
		p, _ := start(t)
		p.SetNew(faultproxy.NewRefuse)
		c := dial(t, p)
		_, err := roundTrip(c, "x", time.Second)
		require.Error(t, err)
		assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "closed at once: %v", err)
	})
	t.Run("hang", func(t *testing.T) {
		p, _ := start(t)
		p.SetNew(faultproxy.NewHang)
		c := dial(t, p)
		_, err := roundTrip(c, "x", 300*time.Millisecond)
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "accepted, never answered: %v", err)
		p.SetNew(faultproxy.NewPass)
		got, err := roundTrip(dial(t, p), "y", time.Second)
		require.NoError(t, err)
		assert.Equal(t, "y", got)
	})
}
