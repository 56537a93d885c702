package main

import (
	"context"
	"fmt"
	"io"

	"goquiz/impl/postgres"
)

// retryFailed puts the failed records back to pending and says how many.
func retryFailed(ctx context.Context, cfg config, w io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DSN, cfg.store(nil))
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.RetryFailed(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d failed records put back to pending, due now; running integrators deliver them\n", n)
	return nil
}
