package deliver

import (
	"math/rand/v2"
	"time"

	"goquiz/common"
)

// Backoff returns the delay before the retry that follows the given number
// of failed attempts (1 for the first failure): first doubled for each
// earlier failure, capped at max, with jitter drawn from the upper half so
// that retries of many records spread out without coming early.
func backoff(failures int, first, max time.Duration) time.Duration {
	if first <= 0 {
		return 0
	}
	d := first
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	if max > 0 && d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// RetryDelay returns when a record should be tried again after failure,
// its failures-th failed attempt: the backoff, or longer when the CRM
// asked for a longer wait (PublishError.Wait).
func retryDelay(failure *common.PublishError, failures int, first, max time.Duration) time.Duration {
	d := backoff(failures, first, max)
	if failure != nil && failure.Wait() > d {
		d = failure.Wait()
	}
	return d
}
