package deliver_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"goquiz/common"
	"goquiz/common/deliver"
)

// TestRetriesFallDueWhenTheirClaimEnds checks that a retry waits for its
// claim to end and no longer: the claim ends with an outcome that is not
// a failure (the last record's delivery), and the claimer, which could
// not see the retry while it held it, is woken for it without polling.
func TestRetriesFallDueWhenTheirClaimEnds(t *testing.T) {
	q := newStore(2)
	var failed atomic.Bool
	crm := newFakeCRM(func(c common.Customer, _ int) error {
		switch {
		case c.ID == 1 && !failed.Swap(true):
			return common.StatusError(500, 0)
		case c.ID == 2:
			time.Sleep(300 * time.Millisecond) // ends the claim, later
		}
		return nil
	})
	cfg := fastConfig()
	cfg.PollInterval = time.Hour
	cfg.RetryDelay = 10 * time.Millisecond
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 3*time.Second, allSent(q))
	assert.Equal(t, 1, q.Records()[1].Attempts, "record 1: one failure recorded, then delivered")
}
