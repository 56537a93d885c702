package deliver

import "time"

// SetShutdownGrace sets how long a stopping Deliverer tries the store, for
// tests; it returns the function that restores it.
func SetShutdownGrace(d time.Duration) (restore func()) {
	old := shutdownGrace
	shutdownGrace = d
	return func() { shutdownGrace = old }
}
