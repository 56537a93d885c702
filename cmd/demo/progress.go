package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"goquiz/impl/mockcrm"
	"goquiz/internal/cli"
	"goquiz/internal/harness"
)

// sample is what the demo sees of the pipeline at one moment.
type sample struct {
	elapsed   time.Duration // since the parser started
	table     tableCounts
	tableErr  error
	crm       mockcrm.Stats
	crmErr    error
	parserRan bool // the parser has exited
	// requesting is the requests per second the CRM received since the
	// sample before (what its rate limit counts); negative when unknown.
	requesting float64
}

// progress draws one line per sample: redrawn in place on a terminal, one
// line after the other otherwise.
type progress struct {
	out   io.Writer
	tty   bool
	drawn bool   // a line is on screen, not yet ended
	last  sample // the sample shown before
}

func newProgress(out io.Writer) *progress {
	return &progress{out: out, tty: cli.IsTerminal(out)}
}

// show draws s.
func (p *progress) show(s sample, n int64) {
	s.requesting = -1
	if dt := (s.elapsed - p.last.elapsed).Seconds(); dt > 0 && s.crmErr == nil && p.last.crmErr == nil && p.last.elapsed > 0 {
		s.requesting = float64(s.crm.Requests-p.last.crm.Requests) / dt
	}
	p.last = s
	line := s.line(n, false)
	if !p.tty {
		fmt.Fprintln(p.out, line)
		return
	}
	if w := terminalWidth(p.out); w > 0 && len(line) >= w {
		if line = s.line(n, true); len(line) >= w {
			line = line[:w-1] // a line that wraps could not be redrawn
		}
	}
	fmt.Fprintf(p.out, "\r%s\x1b[K", line)
	p.drawn = true
}

// end ends the line being redrawn, so that what follows starts below it.
func (p *progress) end() {
	if p.drawn {
		fmt.Fprintln(p.out)
		p.drawn = false
	}
}

// line renders s in one line of about 140 characters: the rows stored by
// the parser out of n, the rows sent by the integrators, those held by an
// integrator right now, those waiting to retry after a failed attempt, and
// the mock CRM's counters, with the requests per second it receives
// (where the integrators settle on its rate limit) and the requests its
// rate limit refused. The compact form, for narrow terminals, is under 90.
func (s sample) line(n int64, compact bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.1fs  ", s.elapsed.Seconds())
	t, c := s.table, s.crm
	switch {
	case s.tableErr != nil:
		fmt.Fprintf(&b, "database: %s", cli.OneLine(s.tableErr.Error(), 50))
	case compact:
		fmt.Fprintf(&b, "stored %s/%s sent %s retry %s", harness.Group(t.Stored), harness.Group(n), harness.Group(t.Sent), harness.Group(t.Waiting))
	default:
		done := ""
		if s.parserRan {
			done = " done"
		}
		fmt.Fprintf(&b, "stored %s/%s%s  sent %s (%s in flight, %s to retry)",
			harness.Group(t.Stored), harness.Group(n), done, harness.Group(t.Sent), harness.Group(t.InFlight), harness.Group(t.Waiting))
		if t.Rejected > 0 {
			fmt.Fprintf(&b, " rejected %s", harness.Group(t.Rejected))
		}
	}
	switch {
	case s.crmErr != nil:
		b.WriteString("  CRM: unreachable")
	case compact:
		fmt.Fprintf(&b, " | CRM ok %s dup %s faults %s", harness.Group(c.Accepted), harness.Group(c.Duplicates), harness.Group(faults(c)))
	default:
		b.WriteString("  CRM")
		if s.requesting >= 0 {
			fmt.Fprintf(&b, " at %s req/s", harness.Group(int64(s.requesting+0.5)))
		}
		fmt.Fprintf(&b, ": %s accepted, %s dup, %s faults, %s throttled", harness.Group(c.Accepted), harness.Group(c.Duplicates), harness.Group(faults(c)), harness.Group(c.Throttled))
	}
	return b.String()
}

// terminalWidth is the width of the terminal w, 0 when unknown.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	var ws struct{ row, col, x, y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.col)
}
