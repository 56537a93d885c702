package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/harness"
	"goquiz/internal/harness/check"
)

// errCheckFailed reports that the summary's check failed; the summary says
// why.
var errCheckFailed = errors.New("check failed")

// result is what the demo found at its end.
type result struct {
	n           int64
	integrators int
	// mode is the CRM's API (goquiz or hubspot), and want what the run
	// must end with in it.
	mode string
	want check.Want
	// delivered tells that every stored row was sent after the parser
	// succeeded.
	delivered bool
	// abort says why the demo stopped before everything was delivered
	// (a timeout, a program that died); empty when it did not.
	abort string

	parserRan    bool          // the parser exited
	parserCode   int           // its exit code
	parserStatus string        // how it exited, in words
	parserSaid   string        // its last line of output
	parseTime    time.Duration // from its start to its exit

	integratorCodes []int // exit codes after SIGTERM; nil when not stopped that way

	table    tableCounts
	tableErr error
	crm      mockcrm.Stats
	crmErr   error

	delivery time.Duration // first row stored to last row sent
	pipeline time.Duration // parser start to all rows sent
	total    time.Duration // the whole demo
}

// failures lists every way the run falls short of its promise; none means
// the check passed.
func (r *result) failures() []string {
	var fs []string
	if r.abort != "" {
		fs = append(fs, r.abort)
	}
	switch {
	case !r.parserRan:
		fs = append(fs, "the parser did not finish")
	case r.parserCode != 0:
		fs = append(fs, "the parser failed: "+r.parserStatus)
	}
	if r.tableErr != nil {
		fs = append(fs, "could not count the stored rows: "+r.tableErr.Error())
	} else {
		fs = append(fs, check.InStore(r.table.Store, r.want)...)
	}
	if r.crmErr != nil {
		fs = append(fs, "could not read the CRM's counters: "+r.crmErr.Error())
	} else {
		fs = append(fs, check.InCRM(r.crm, r.want)...)
	}
	for i, code := range r.integratorCodes {
		if code != 0 {
			fs = append(fs, fmt.Sprintf("integrator-%d exited %d on SIGTERM, want 0", i+1, code))
		}
	}
	return fs
}

// write prints the summary and its verdict: CHECK PASSED, or CHECK FAILED
// with the reasons.
func (r *result) write(w io.Writer) {
	fmt.Fprintln(w, "\nSummary")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAIL"
	}
	count := func(name string, v, want int64, err error) {
		if err != nil {
			fmt.Fprintf(tw, "  %s\t?\twant %s\tFAIL\n", name, harness.Group(want))
			return
		}
		fmt.Fprintf(tw, "  %s\t%s\twant %s\t%s\n", name, harness.Group(v), harness.Group(want), mark(v == want))
	}
	if r.parserRan {
		fmt.Fprintf(tw, "  parser exit code\t%d\twant 0\t%s\n", r.parserCode, mark(r.parserCode == 0))
	} else {
		fmt.Fprintf(tw, "  parser exit code\t-\twant 0\tFAIL\n")
	}
	count("rows stored", r.table.Stored, r.n, r.tableErr)
	count("rows sent", r.table.Sent, r.want.Sent, r.tableErr)
	if r.mode == "hubspot" {
		count("rows rejected (an email taken)", r.table.Rejected, r.want.Rejected, r.tableErr)
		count("CRM contacts created", r.crm.Accepted, r.want.Accepted, r.crmErr)
		count("CRM conflicts (409)", r.crm.HubSpot.Conflicts, r.want.Conflicts, r.crmErr)
	} else {
		count("CRM accepted", r.crm.Accepted, r.want.Accepted, r.crmErr)
	}
	count("CRM duplicates", r.crm.Duplicates, 0, r.crmErr)
	if r.integratorCodes != nil {
		codes := make([]string, len(r.integratorCodes))
		ok := true
		for i, c := range r.integratorCodes {
			codes[i] = fmt.Sprint(c)
			ok = ok && c == 0
		}
		fmt.Fprintf(tw, "  integrators' exit codes on SIGTERM\t%s\twant 0\t%s\n", strings.Join(codes, " "), mark(ok))
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.crmErr == nil {
		c := r.crm
		fmt.Fprintf(tw, "  CRM requests\t%s: %s accepted, %s refused by its rate limit (429), %s answered 500, %s answered 429 at random, %s hung, %s in an outage, %s bad\n",
			harness.Group(c.Requests), harness.Group(c.Accepted), harness.Group(c.Throttled), harness.Group(c.Faults.Fail), harness.Group(c.Faults.RateLimited),
			harness.Group(c.Faults.Hang), harness.Group(c.Faults.Outage), harness.Group(c.BadRequests+c.Unauthorized))
	}
	if r.tableErr == nil {
		fmt.Fprintf(tw, "  retries\t%s failed attempts retried by %d integrators\n", harness.Group(r.table.retries), r.integrators)
	}
	if r.parserRan {
		fmt.Fprintf(tw, "  parse time\t%s\t%s rows/s\n", round(r.parseTime), harness.Group(rate(r.table.Stored, r.parseTime)))
	}
	if r.delivery > 0 {
		fmt.Fprintf(tw, "  delivery time\t%s\t%s customers/s, from the first row stored to the last one sent\n",
			round(r.delivery), harness.Group(rate(r.table.Sent, r.delivery)))
	}
	if r.pipeline > 0 {
		fmt.Fprintf(tw, "  pipeline time\t%s\t%s customers/s end to end, from the parser's start to the last one sent\n",
			round(r.pipeline), harness.Group(rate(r.table.Sent, r.pipeline)))
	}
	fmt.Fprintf(tw, "  total time\t%s\tbuild and start-up included\n", round(r.total))
	tw.Flush()
	if r.parserSaid != "" {
		fmt.Fprintf(w, "  the parser said: %s\n", r.parserSaid)
	}

	if fs := r.failures(); len(fs) > 0 {
		fmt.Fprintf(w, "\nCHECK FAILED: %s\n", strings.Join(fs, "; "))
		return
	}
	if r.mode == "hubspot" {
		fmt.Fprintf(w, "\nCHECK PASSED: %s customers stored once; %s delivered once as contacts, %s refused once for an email taken, none twice\n",
			harness.Group(r.n), harness.Group(r.want.Sent), harness.Group(r.want.Rejected))
		return
	}
	fmt.Fprintf(w, "\nCHECK PASSED: %s customers stored once, delivered once, and none twice\n", harness.Group(r.n))
}

// rate is n per second over d.
func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// round rounds d for display.
func round(d time.Duration) time.Duration {
	if d > 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
