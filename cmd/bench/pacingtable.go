package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// goal is what a cell of the pacing matrix must reach.
type goal struct {
	vsOff      bool    // judged against the same cell with ADAPTIVE_RATE=false; otherwise against r
	admitted   bool    // judge the limiter-admitted requests per second, not the customers accepted
	min        float64 // least ratio of the rate judged to the reference
	maxRefused float64 // most share of the requests refused; 0: no bound
	r          float64 // the CRM's allowed rate R, when not vsOff
	minShare   float64 // with several integrators, the least share of each; 0: none
}

// String returns the goal as the table prints it.
func (g goal) String() string {
	what, ref := "", "R"
	if g.admitted {
		what = "admitted "
	}
	if g.vsOff {
		ref = "off"
	}
	s := fmt.Sprintf("%s>= %.2f %s", what, g.min, ref)
	if g.maxRefused > 0 {
		s += fmt.Sprintf(", <= %g%% refused", 100*g.maxRefused)
	}
	if g.minShare > 0 {
		s += fmt.Sprintf(", each >= %g%%", 100*g.minShare)
	}
	return s
}

// pacingRow is one line of the matrix's table.
type pacingRow struct {
	index       int // the cell's
	name        string
	rate        float64   // the rate judged: customers accepted (or admitted requests) per second
	ref         string    // the reference, e.g. "R 100/s" or "off 1234/s"; empty for a reference run
	ratio       float64   // rate over the reference's
	refused     float64   // share of the requests refused (see refusedShare)
	perCustomer float64   // requests per customer accepted
	shares      []float64 // with several integrators, each one's share of the answers 200
	goal        string
	result      string // PASS, FAIL, or "ref" for a reference run
	notes       []string
}

// refusedShare returns the share of the requests a cell counts as
// refused: the limit's refusals when the CRM has a limit, all 429s
// otherwise.
func refusedShare(c cell, m limited) float64 {
	if m.st.Requests == 0 {
		return 0
	}
	refused := m.st.Throttled
	if !c.limited() {
		refused += m.st.Faults.RateLimited
	}
	return float64(refused) / float64(m.st.Requests)
}

// measuredRow returns the figures of run m of cell c, not yet judged: the
// rate is of the requests the limit admitted where the goal judges those.
func measuredRow(c cell, m limited) pacingRow {
	r := pacingRow{index: c.index, name: c.name, rate: m.rate, refused: refusedShare(c, m)}
	if c.goal.admitted && m.span > 0 {
		r.rate = float64(m.st.Admitted) / m.span.Seconds()
	}
	if m.accepted > 0 {
		r.perCustomer = float64(m.st.Requests) / float64(m.accepted)
	}
	if len(m.shares) > 1 {
		var total int64
		for _, n := range m.shares {
			total += n
		}
		for _, n := range m.shares {
			r.shares = append(r.shares, float64(n)/float64(max(total, 1)))
		}
	}
	if !m.complete {
		r.notes = append(r.notes, fmt.Sprintf("timed out: %d of %d accepted", m.accepted, c.run.n))
	}
	if m.early > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d retries before Retry-After", m.early))
	}
	if m.st.Duplicates > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d duplicates", m.st.Duplicates))
	}
	return r
}

// refRow returns the row of the reference run m of cell c, with pacing
// switched off.
func refRow(c cell, m limited) pacingRow {
	r := measuredRow(c, m)
	r.name, r.result = c.name+", ADAPTIVE_RATE=false", "ref"
	return r
}

// fixedRow returns the row of the run m of cell c by a client that knows
// the limit (pacing fixed at MAX_RATE = R): what the measure allows where
// faults make the last records' retries trail the rest, or what a bucket
// without burst allows requests that arrive with jitter.
func fixedRow(c cell, m limited) pacingRow {
	r := measuredRow(c, m)
	r.name, r.result = fmt.Sprintf("%s, ADAPTIVE_RATE=false MAX_RATE=%g", c.name, c.goal.r), "ref"
	r.ref, r.ratio = fmt.Sprintf("R %g/s", c.goal.r), r.rate/c.goal.r
	return r
}

// judge returns the row of run m of cell c against its goal; ref is the
// run with pacing off, for the goals that need it.
func judge(c cell, m limited, ref *limited) pacingRow {
	r := measuredRow(c, m)
	r.goal = c.goal.String()
	refRate := c.goal.r
	r.ref = fmt.Sprintf("R %g/s", c.goal.r)
	if c.goal.vsOff {
		refRate = 0
		if ref != nil {
			refRate = ref.rate
		}
		r.ref = fmt.Sprintf("off %.0f/s", refRate)
	}
	if refRate > 0 {
		r.ratio = r.rate / refRate
	}
	pass := refRate > 0 && r.ratio >= c.goal.min && m.complete && m.early == 0
	if c.goal.maxRefused > 0 && r.refused > c.goal.maxRefused {
		pass = false
	}
	for _, s := range r.shares {
		if s < c.goal.minShare {
			pass = false
		}
	}
	r.result = "FAIL"
	if pass {
		r.result = "PASS"
	}
	return r
}

// log returns the row as one line of the bench's progress.
func (r pacingRow) log() string {
	s := fmt.Sprintf("cell %d %s: %.1f/s", r.index, r.name, r.rate)
	if r.ref != "" {
		s += fmt.Sprintf(" (%.3f of %s)", r.ratio, r.ref)
	}
	s += fmt.Sprintf(", %.1f%% refused, %.2f requests a customer %s %s", 100*r.refused, r.perCustomer, r.sharesText(), r.result)
	if len(r.notes) > 0 {
		s += " (" + strings.Join(r.notes, "; ") + ")"
	}
	return s
}

// sharesText returns the integrators' shares as "50/50", or "-".
func (r pacingRow) sharesText() string {
	if len(r.shares) == 0 {
		return "-"
	}
	parts := make([]string, len(r.shares))
	for i, s := range r.shares {
		parts[i] = strconv.Itoa(int(100*s + 0.5))
	}
	return strings.Join(parts, "/")
}

// printPacing prints the matrix's table and reports whether every judged
// row passed.
func printPacing(w io.Writer, rows []pacingRow) bool {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCELL\tRATE/s\tREFERENCE\tRATIO\tREFUSED\tREQ/CUST\tSHARES %\tGOAL\tRESULT")
	all := true
	for _, r := range rows {
		index, ratio, goal := strconv.Itoa(r.index), "-", r.goal
		if r.result == "ref" {
			index = ""
		}
		if r.ref != "" {
			ratio = fmt.Sprintf("%.3f", r.ratio)
		}
		if goal == "" {
			goal = "-"
		}
		ref := r.ref
		if ref == "" {
			ref = "-"
		}
		result := r.result
		if len(r.notes) > 0 {
			result += " (" + strings.Join(r.notes, "; ") + ")"
		}
		all = all && r.result != "FAIL"
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\t%.1f%%\t%.2f\t%s\t%s\t%s\n",
			index, r.name, r.rate, ref, ratio, 100*r.refused, r.perCustomer, r.sharesText(), goal, result)
	}
	tw.Flush()
	return all
}

// selectCells returns the cells filter names: a comma-separated list of
// cell numbers, ranges of them (3-7), or text found in a cell's name
// (case ignored). An empty filter selects every cell; one that selects
// none is an error.
func selectCells(cells []cell, filter string) ([]cell, error) {
	if strings.TrimSpace(filter) == "" {
		return cells, nil
	}
	var out []cell
	for _, c := range cells {
		for _, item := range strings.Split(filter, ",") {
			if matchCell(c, strings.TrimSpace(item)) {
				out = append(out, c)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-cells " + strconv.Quote(filter) + " selects no cell")
	}
	return out, nil
}

// matchCell reports whether item (a number, a range a-b, or text) names c.
func matchCell(c cell, item string) bool {
	if item == "" {
		return false
	}
	if n, err := strconv.Atoi(item); err == nil {
		return c.index == n
	}
	if lo, hi, ok := strings.Cut(item, "-"); ok {
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA == nil && errB == nil {
			return a <= c.index && c.index <= b
		}
	}
	return strings.Contains(strings.ToLower(c.name), strings.ToLower(item))
}
