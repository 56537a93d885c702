package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

// status prints the delivery status read from the database, after
// counting the records again from the rows when recount is set.
func status(ctx context.Context, cfg config, w io.Writer, recount bool) error {
	db, err := postgres.Open(ctx, cfg.DSN, cfg.store(nil))
	if err != nil {
		return err
	}
	defer db.Close()
	if recount {
		start := time.Now()
		r, err := db.Recount(ctx)
		if err != nil {
			return err
		}
		writeRecounted(w, r, time.Since(start))
	}
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	writeStatus(w, st)
	return nil
}

// writeStatus writes st as a small table for a person. Writes to w are
// not checked: a failing standard output has nobody to tell.
func writeStatus(w io.Writer, st postgres.Status) {
	fmt.Fprintln(w, "records by state:")
	width := len(strconv.FormatInt(st.Total(), 10))
	for _, r := range []struct {
		name string
		n    int64
	}{
		{"pending", st.Pending},
		{"in flight", st.InFlight},
		{"waiting to retry", st.WaitingRetry},
		{"sent", st.Sent},
		{"failed", st.Failed},
		{"rejected", st.Rejected},
		{"total", st.Total()},
	} {
		fmt.Fprintf(w, "  %-16s  %*d\n", r.name, width, r.n)
	}
	if st.NewerVersion > 0 {
		fmt.Fprintf(w, "pending with a newer version: %d (changed by a load in SYNC_MODE=upsert, sent again once)\n", st.NewerVersion)
	}
	if st.Undelivered() == 0 {
		fmt.Fprintln(w, "oldest undelivered record: none")
	} else {
		fmt.Fprintf(w, "oldest undelivered record: %s old (stored %s)\n",
			st.OldestUndelivered.Round(time.Second), st.OldestCreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(w, "sent in the last minute: %d (%.1f/s)\n", st.SentLastMinute, float64(st.SentLastMinute)/60)
	if !st.PausedUntil.IsZero() {
		fmt.Fprintf(w, "the CRM's quota is spent: nothing is sent before %s (noted by %s)\n", st.PausedUntil.UTC().Format("2006-01-02 15:04:05 UTC"), st.PausedBy)
	}
	if len(st.LastErrors) == 0 {
		fmt.Fprintln(w, "last errors of undelivered records: none")
	} else {
		fmt.Fprintln(w, "last errors of undelivered records (records  error):")
		width := len(strconv.FormatInt(st.LastErrors[0].Records, 10)) // the most frequent comes first
		for _, e := range st.LastErrors {
			fmt.Fprintf(w, "  %*d  %s\n", max(width, 7), e.Records, cli.OneLine(e.Error, 200))
		}
	}
	if st.Failed > 0 {
		fmt.Fprintln(w, "failed records were given up after MAX_ATTEMPTS: run integrator retry-failed to send them again")
	}
	writeRejections(w, st)
}

// writeRejections writes the rejected records' counts by status and the
// latest reasons, when there are any.
func writeRejections(w io.Writer, st postgres.Status) {
	if st.Rejected == 0 {
		return
	}
	fmt.Fprintln(w, "rejected records by the CRM's status (records  status):")
	width := len(strconv.FormatInt(st.Rejected, 10))
	for _, c := range st.RejectedByStatus {
		status := strconv.Itoa(c.Status)
		if c.Status == 0 {
			status = "(none in the reason)"
		}
		fmt.Fprintf(w, "  %*d  %s\n", max(width, 7), c.Records, status)
	}
	fmt.Fprintln(w, "latest rejected records (id  rejected at  reason):")
	for _, r := range st.LatestRejections {
		fmt.Fprintf(w, "  %d  %s  %s\n", r.ID, r.At.UTC().Format("2006-01-02 15:04:05 MST"), cli.OneLine(r.Reason, 300))
	}
	fmt.Fprintln(w, "rejected records were refused by the CRM for good (GIVE_UP_ON): once the cause is fixed, run integrator retry-failed --rejected (or --rejected=STATUS) to send them again")
}

// writeRecounted writes what a recount found, on one line.
func writeRecounted(w io.Writer, r postgres.Recounted, took time.Duration) {
	fmt.Fprintf(w, "recounted %d records in %s: ", r.Records, took.Round(time.Millisecond))
	if r.Exact() {
		fmt.Fprintln(w, "the counts were exact")
		return
	}
	var fixes []string
	for _, f := range []struct {
		name string
		n    int64
	}{{"pending", r.Pending}, {"sent", r.Sent}, {"failed", r.Failed}, {"pending with a newer version", r.Newer}, {"rejected", r.Rejected}} {
		if f.n != 0 {
			fixes = append(fixes, fmt.Sprintf("%s %+d", f.name, f.n))
		}
	}
	for _, f := range []struct {
		by string
		n  int64
	}{{"time stored", r.Stored}, {"time sent", r.SentLately}, {"last error", r.Errors}} {
		switch {
		case f.n == 1:
			fixes = append(fixes, "1 count by "+f.by)
		case f.n > 1:
			fixes = append(fixes, fmt.Sprintf("%d counts by %s", f.n, f.by))
		}
	}
	fmt.Fprintf(w, "corrected %s\n", strings.Join(fixes, ", "))
}
