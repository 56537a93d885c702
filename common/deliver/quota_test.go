package deliver_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common/deliver"
)

// A quota pause noted before the integrator started (by the run before a
// restart, or another integrator) holds every request until its end.
func TestQuotaNotedBeforeTheStartHoldsEveryRequest(t *testing.T) {
	store := newStore(20)
	until := time.Now().Add(1500 * time.Millisecond)
	require.NoError(t, store.Queue("before").NoteQuota(context.Background(), until))
	crm := newFakeCRM(nil)
	d := deliver.New(store.Queue("a"), crm, fastConfig())
	runUntil(t, d, 10*time.Second, allSent(store))
	first := time.Time{}
	for _, calls := range crm.calls {
		for _, at := range calls {
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
	}
	assert.False(t, first.Before(until), "a request %s before the quota's end", until.Sub(first))
}
