package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"goquiz/common"
)

// progress shows how far a load is: a line redrawn in place on a terminal,
// or an occasional log line otherwise.
type progress struct {
	out      io.Writer
	terminal bool
	every    time.Duration
	start    time.Time
	src      common.Progresser // may be nil

	mu   sync.Mutex
	last time.Time
	drew bool
}

func newProgress(out *os.File, every time.Duration, src common.Progresser) *progress {
	fi, err := out.Stat()
	terminal := err == nil && fi.Mode()&os.ModeCharDevice != 0
	if terminal {
		every = 200 * time.Millisecond
	}
	return &progress{out: out, terminal: terminal, every: every, start: time.Now(), src: src}
}

// update is called after every committed chunk.
func (p *progress) update(st common.LoadStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	line := p.describe(st, now)
	if p.terminal {
		fmt.Fprintf(p.out, "\r\033[K%s", line)
		p.drew = true
	} else {
		fmt.Fprintf(p.out, "parser: progress: %s\n", line)
	}
}

func (p *progress) describe(st common.LoadStats, now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	s := fmt.Sprintf("%d rows read, %d stored, %d duplicates, %d rejected, %.0f rows/s",
		st.Read, st.Stored, st.Duplicates, st.Rejected, float64(st.Read)/max(elapsed, 1e-9))
	if p.src != nil {
		done, total := p.src.Progress()
		if total > 0 {
			s = fmt.Sprintf("%.1f%% (%s of %s), %s", 100*float64(done)/float64(total), mib(done), mib(total), s)
		} else {
			s = fmt.Sprintf("%s read, %s", mib(done), s)
		}
	}
	return s
}

// finish clears the progress line on a terminal.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drew {
		fmt.Fprint(p.out, "\r\033[K")
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
