package postgres

import "time"

// SetTidyEvery sets how often a store opened with Options.Tidy tidies the
// counts, for the tests of this package, and returns what restores it.
func SetTidyEvery(d time.Duration) (restore func()) {
	old := tidyEvery
	tidyEvery = d
	return func() { tidyEvery = old }
}
