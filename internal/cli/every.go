package cli

import (
	"context"
	"time"
)

// Every calls f every interval, the first time one interval from now,
// until ctx ends; a call in progress is not interrupted but gets ctx.
func Every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	done := ctx.Done()
	for {
		select {
		case <-t.C:
			f(ctx)
		case <-done:
			return
		}
	}
}
