package common

import "time"

// StorePause is the wait before the next try of a store call that failed
// n times in a row (n from 1): 100ms, doubling up to 2s. Every retry of a
// store operation (connecting, claiming, settling, storing a chunk again)
// waits by it: long enough not to hammer a server that is restarting,
// short enough to resume within two seconds of its return.
func StorePause(n int) time.Duration {
	return min(100*time.Millisecond<<min(max(n, 1)-1, 5), 2*time.Second)
}
