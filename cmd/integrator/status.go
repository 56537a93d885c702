package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

// status prints the delivery status read from the database.
func status(ctx context.Context, cfg config, w io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DSN, cfg.store(nil))
	if err != nil {
		return err
	}
	defer db.Close()
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
		{"total", st.Total()},
	} {
		fmt.Fprintf(w, "  %-16s  %*d\n", r.name, width, r.n)
	}
	if st.Undelivered() == 0 {
		fmt.Fprintln(w, "oldest undelivered record: none")
	} else {
		fmt.Fprintf(w, "oldest undelivered record: %s old (stored %s)\n",
			st.OldestUndelivered.Round(time.Second), st.OldestCreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(w, "sent in the last minute: %d (%.1f/s)\n", st.SentLastMinute, float64(st.SentLastMinute)/60)
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
}
