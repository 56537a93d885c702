package mockcrm

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines written so far.
func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

func TestLogStatsOnlyOnChange(t *testing.T) {
	s := New(Config{})
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.LogStats(ctx, logger, 10*time.Millisecond)
	}()

	postCustomer(t, s, 1)
	postCustomer(t, s, 1)
	assert.Eventually(t, func() bool { return len(out.lines()) == 1 && out.lines()[0] != "" }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(60 * time.Millisecond) // several ticks without change
	cancel()
	<-done

	lines := out.lines()
	assert.Len(t, lines, 1, "one line per change, none per idle tick")
	assert.Contains(t, lines[0], "mockcrm stats")
	assert.Contains(t, lines[0], "requests=2")
	assert.Contains(t, lines[0], "accepted=1")
	assert.Contains(t, lines[0], "duplicates=1")
}

func TestLogStatsFinalLine(t *testing.T) {
	s := New(Config{})
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.LogStats(ctx, logger, time.Hour)
	}()
	postCustomer(t, s, 1)
	cancel()
	<-done

	lines := out.lines()
	assert.Len(t, lines, 1)
	assert.Contains(t, lines[0], "accepted=1")
}
