package deliver_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/common/deliver"
)

// rejectObserver is a countingObserver that counts rejections too.
type rejectObserver struct {
	countingObserver
	mu       sync.Mutex
	byStatus map[int]int
}

func (o *rejectObserver) Rejected(status, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.byStatus[status] += n
}

func TestGiveUpOn(t *testing.T) {
	refusal := func(status int, body string) error {
		e := common.StatusError(status, 0)
		e.Body = body
		return e
	}
	tests := []struct {
		name       string
		giveUpOn   []int
		answer     error // of records 3 and 8, on every attempt but the fourth
		wantState  common.State
		wantErr    string
		wantTries  int
		maxAttempt int
	}{
		{"rejected at the first refusal", []int{400, 409}, refusal(400, `{"error":"INVALID_EMAIL"}`), common.StateRejected,
			`status 400: {"error":"INVALID_EMAIL"}`, 1, 0},
		{"rejected without an answer body", []int{409}, refusal(409, ""), common.StateRejected, "status 409", 1, 0},
		{"rejected before MAX_ATTEMPTS", []int{422}, refusal(422, "no"), common.StateRejected, "status 422: no", 1, 5},
		{"a status not listed is retried", []int{400}, refusal(500, "oops"), common.StateSent, "", 4, 0},
		{"nothing listed: the default retries", nil, refusal(400, "bad"), common.StateSent, "", 4, 0},
		{"no answer is never a refusal", []int{400}, common.ConnectionError(nil), common.StateSent, "", 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newStore(20)
			obs := &rejectObserver{byStatus: map[int]int{}}
			cfg := fastConfig()
			cfg.GiveUpOn = tt.giveUpOn
			cfg.MaxAttempts = tt.maxAttempt
			cfg.Observer = obs
			var mu sync.Mutex
			tries := map[int64]int{}
			crm := newFakeCRM(func(c common.Customer, call int) error {
				if c.ID != 3 && c.ID != 8 {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				tries[c.ID]++
				if tries[c.ID] == 4 {
					return nil
				}
				return tt.answer
			})
			d := deliver.New(q.Queue("a"), crm, cfg)
			runUntil(t, d, 10*time.Second, func() bool {
				for _, r := range q.Records() {
					if r.State == common.StatePending {
						return false
					}
				}
				return true
			})
			for _, id := range []int64{3, 8} {
				rec := q.Records()[id]
				assert.Equal(t, tt.wantState, rec.State, "record %d", id)
				assert.Len(t, crm.calls[id], tt.wantTries, "attempts of record %d", id)
				if tt.wantState == common.StateRejected {
					require.Len(t, rec.Errors, 1)
					assert.Equal(t, tt.wantErr, rec.Errors[0])
				}
			}
			customers, dups := crm.acceptedCount()
			st := d.Stats()
			if tt.wantState == common.StateRejected {
				assert.Equal(t, 18, customers, "every other record delivered")
				assert.Equal(t, int64(2), st.Rejected)
				assert.Zero(t, st.GaveUp)
				status := tt.answer.(*common.PublishError).Status
				assert.Equal(t, map[int]int{status: 2}, obs.byStatus, "rejections observed by status")
			} else {
				assert.Equal(t, 20, customers)
				assert.Zero(t, st.Rejected)
				assert.Empty(t, obs.byStatus)
			}
			assert.Zero(t, dups)
		})
	}
}

func TestPublishErrorRefusal(t *testing.T) {
	e := common.StatusError(400, 0)
	assert.Equal(t, "status 400", e.Refusal())
	assert.Equal(t, "status 400", e.Error(), "the body is only the refusal's")
	e.Body = `{"x":1}`
	assert.Equal(t, `status 400: {"x":1}`, e.Refusal())
	assert.Equal(t, "status 400", e.Error())
	assert.Equal(t, "status_400", e.Label())
}

// A refusal for good of a customer's second version rejects that version:
// the outcome names the version it is for, as the other outcomes do.
// Without it the store took it for version 1, no longer the record's, and
// dropped it: version 2 was sent again at once, for ever.
func TestGiveUpOnANewerVersion(t *testing.T) {
	q := newStore(5)
	require.Equal(t, 1, q.Change(common.Customer{ID: 3, FirstName: "changed"}))
	cfg := fastConfig()
	cfg.GiveUpOn = []int{422}
	crm := newFakeCRM(func(c common.Customer, call int) error {
		if c.ID == 3 {
			return common.StatusError(422, 0)
		}
		return nil
	})
	d := deliver.New(q.Queue("a"), crm, cfg)
	runUntil(t, d, 5*time.Second, func() bool {
		for _, r := range q.Records() {
			if r.State == common.StatePending {
				return false
			}
		}
		return true
	})
	rec := q.Records()[3]
	assert.Equal(t, common.StateRejected, rec.State)
	assert.Equal(t, 2, rec.Version)
	assert.Len(t, crm.calls[3], 1, "attempts of version 2")
}
