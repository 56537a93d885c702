package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"goquiz/common"
	"goquiz/common/load"
	"goquiz/internal/cli"
)

// progress shows how far a load is: a line redrawn in place on a terminal,
// or otherwise an occasional log line, as text or as a JSON record.
type progress struct {
	out      io.Writer
	log      *slog.Logger // under LOG_FORMAT=json; nil for text
	terminal bool
	every    time.Duration
	start    time.Time
	src      common.Progresser // may be nil
	// outcomes shows new, changed and unchanged rows apart (SYNC_MODE=upsert
	// or a dry run) besides the rows stored; dry names no rows stored.
	outcomes, dry bool

	mu   sync.Mutex
	last time.Time
	drew bool
}

// terminalInterval is how often the line on a terminal is redrawn.
const terminalInterval = 200 * time.Millisecond

func newProgress(w io.Writer, out *cli.Output, every time.Duration, src common.Progresser) *progress {
	p := &progress{out: w, every: every, start: time.Now(), src: src}
	switch {
	case out.JSON():
		p.log = out.Logger(slog.LevelInfo)
	case cli.IsTerminal(w):
		p.terminal, p.every = true, terminalInterval
	}
	return p
}

// update is called after every committed chunk.
func (p *progress) update(st load.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	switch {
	case p.log != nil:
		p.record(st, now)
	case p.terminal:
		fmt.Fprintf(p.out, "\r\033[K%s", p.describe(st, now))
		p.drew = true
	default:
		fmt.Fprintf(p.out, "parser: progress: %s\n", p.describe(st, now))
	}
}

// rate is the rows read per second since the start.
func (p *progress) rate(st load.Stats, now time.Time) float64 {
	return float64(st.Read) / max(now.Sub(p.start).Seconds(), 1e-9)
}

func (p *progress) describe(st load.Stats, now time.Time) string {
	s := fmt.Sprintf("%d rows read, %d stored, %d duplicates, %d rejected, %.0f rows/s",
		st.Read, st.Stored, st.Duplicates, st.Rejected, p.rate(st, now))
	switch {
	case p.dry:
		s = fmt.Sprintf("%d rows read, %d new, %d changed, %d unchanged, %d duplicates, %d rejected, %.0f rows/s",
			st.Read, st.Stored, st.Changed, st.Unchanged, st.Duplicates, st.Rejected, p.rate(st, now))
	case p.outcomes: // as the summary says it
		s = fmt.Sprintf("%d rows read, %d stored (%d new, %d changed), %d unchanged, %d duplicates, %d rejected, %.0f rows/s",
			st.Read, st.Stored+st.Changed, st.Stored, st.Changed, st.Unchanged, st.Duplicates, st.Rejected, p.rate(st, now))
	}
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

// record logs the progress as a record whose attributes are the counts;
// stored is what the summary calls stored: new rows and changed ones.
func (p *progress) record(st load.Stats, now time.Time) {
	stored := st.Stored + st.Changed // as the summary: new and changed
	if p.dry {
		stored = 0 // a dry run stores nothing
	}
	attrs := []slog.Attr{
		slog.Int64("rows_read", st.Read),
		slog.Int64("stored", stored),
		slog.Int64("new", st.Stored),
		slog.Int64("changed", st.Changed),
		slog.Int64("unchanged", st.Unchanged),
		slog.Int64("duplicates", st.Duplicates),
		slog.Int64("rejected", st.Rejected),
		slog.Int64("rows_per_second", int64(p.rate(st, now))),
	}
	if p.src != nil {
		done, total := p.src.Progress()
		attrs = append(attrs, slog.Int64("bytes_read", done))
		if total > 0 {
			attrs = append(attrs, slog.Int64("bytes_total", total))
		}
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "progress", attrs...)
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
