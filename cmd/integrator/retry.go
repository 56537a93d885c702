package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"goquiz/impl/postgres"
)

// retryWhich is what retry-failed puts back: the failed records, or the
// rejected ones (of the listed statuses only, when there are some).
type retryWhich struct {
	rejected bool
	statuses []int
}

// parseRetry reads the arguments of retry-failed: none (the failed
// records), --rejected, or --rejected=STATUSES.
func parseRetry(args []string) (retryWhich, error) {
	switch {
	case len(args) == 0:
		return retryWhich{}, nil
	case len(args) == 1 && args[0] == "--rejected":
		return retryWhich{rejected: true}, nil
	case len(args) == 1 && strings.HasPrefix(args[0], "--rejected="):
		list := strings.TrimPrefix(args[0], "--rejected=")
		statuses, err := statusList("--rejected", list)
		if err == nil && len(statuses) == 0 {
			err = fmt.Errorf("--rejected= lists no status: write --rejected=409 or --rejected=400,422, or --rejected for all")
		}
		if err != nil {
			return retryWhich{}, err
		}
		return retryWhich{rejected: true, statuses: statuses}, nil
	}
	return retryWhich{}, fmt.Errorf("retry-failed %q: use retry-failed (the failed records), retry-failed --rejected (the rejected ones) or retry-failed --rejected=409,422 (those rejected with these statuses)", strings.Join(args, " "))
}

// retryFailed puts the failed, or rejected, records back to pending and
// says how many.
func retryFailed(ctx context.Context, cfg config, which retryWhich, w io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DSN, cfg.store(nil))
	if err != nil {
		return err
	}
	defer db.Close()
	if !which.rejected {
		n, err := db.RetryFailed(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%d failed records put back to pending, due now; running integrators deliver them\n", n)
		return nil
	}
	n, err := db.RetryRejected(ctx, which.statuses)
	if err != nil {
		return err
	}
	what := "rejected records"
	if len(which.statuses) > 0 {
		what = "records rejected with status " + statusText(which.statuses)
	}
	fmt.Fprintf(w, "%d %s put back to pending, due now; running integrators deliver them\n", n, what)
	return nil
}

// statusText writes statuses as "400, 409".
func statusText(statuses []int) string {
	out := make([]string, len(statuses))
	for i, s := range statuses {
		out[i] = strconv.Itoa(s)
	}
	return strings.Join(out, ", ")
}
