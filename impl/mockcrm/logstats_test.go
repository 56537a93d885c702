package mockcrm

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"goquiz/internal/testbin"
)

// lines returns the lines written to b so far.
func lines(b *testbin.SyncBuffer) []string {
	return strings.Split(strings.TrimSpace(b.String()), "\n")
}

func TestLogStatsOnlyOnChange(t *testing.T) {
	s := New(Config{})
	var out testbin.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.LogStats(ctx, logger, 10*time.Millisecond)
	}()

	postCustomer(t, s, 1)
	postCustomer(t, s, 1)
	assert.Eventually(t, func() bool { return len(lines(&out)) == 1 && lines(&out)[0] != "" }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(60 * time.Millisecond) // several ticks without change
	cancel()
	<-done

	lines := lines(&out)
	assert.Len(t, lines, 1, "one line per change, none per idle tick")
	assert.Contains(t, lines[0], "mockcrm stats")
	assert.Contains(t, lines[0], "requests=2")
	assert.Contains(t, lines[0], "accepted=1")
	assert.Contains(t, lines[0], "duplicates=1")
}

func TestLogStatsFinalLine(t *testing.T) {
	s := New(Config{})
	var out testbin.SyncBuffer
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

	lines := lines(&out)
	assert.Len(t, lines, 1)
	assert.Contains(t, lines[0], "accepted=1")
}
