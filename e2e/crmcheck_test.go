package e2e_test

import (
	"bytes"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// acceptedCount is the number of distinct customers accepted so far.
func (d *crmDouble) acceptedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.accepted)
}

// requestCount is the number of requests received so far.
func (d *crmDouble) requestCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests
}

// statusCount is the number of requests answered status so far (0: hung).
func (d *crmDouble) statusCount(status int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byStatus[status]
}

// answeredBetween counts the requests answered status from from until
// to.
func (d *crmDouble) answeredBetween(status int, from, to time.Time) int {
	return d.countAttempts(func(a attempt) bool {
		return a.status == status && !a.answered.Before(from) && a.answered.Before(to)
	})
}

// countAttempts counts the requests for which match holds.
func (d *crmDouble) countAttempts(match func(attempt) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, as := range d.attempts {
		for _, a := range as {
			if match(a) {
				n++
			}
		}
	}
	return n
}

// longestGap returns the longest time from from until to without an
// answer 200: from from to the first, between two, from the last to to.
func (d *crmDouble) longestGap(from, to time.Time) time.Duration {
	d.mu.Lock()
	times := []time.Time{from, to}
	for _, as := range d.attempts {
		for _, a := range as {
			if a.status == http.StatusOK && a.answered.After(from) && a.answered.Before(to) {
				times = append(times, a.answered)
			}
		}
	}
	d.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	var longest time.Duration
	for i := 1; i < len(times); i++ {
		longest = max(longest, times[i].Sub(times[i-1]))
	}
	return longest
}

// firstAcceptedAfter returns when the first answer 200 after t went out,
// and false when there was none.
func (d *crmDouble) firstAcceptedAfter(t time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first time.Time
	for _, as := range d.attempts {
		for _, a := range as {
			if a.status == http.StatusOK && a.answered.After(t) && (first.IsZero() || a.answered.Before(first)) {
				first = a.answered
			}
		}
	}
	return first, !first.IsZero()
}

// firstRequest is when the first request arrived.
func (d *crmDouble) firstRequest() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.first
}

// crmStats sums up what the CRM saw.
type crmStats struct {
	Requests   int
	Retries    int // requests beyond the first of each customer
	Duplicates int // acceptances beyond the first of each customer
}

// check asserts that the CRM accepted exactly the customers of want, each
// with the values expected, that every request of a customer carried its
// idempotency key (the same on every attempt, duplicates included) and
// that no request was malformed. It returns the figures.
func (d *crmDouble) check(t *testing.T, want map[int64]common.Customer) crmStats {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	require.Empty(t, d.bad, "malformed requests")
	st := crmStats{Requests: d.requests}
	for id, as := range d.attempts {
		st.Retries += len(as) - 1
		for _, a := range as {
			if a.key != common.IdempotencyKey(id) {
				require.Failf(t, "wrong idempotency key", "customer %d sent with key %q, want %q", id, a.key, common.IdempotencyKey(id))
			}
		}
	}
	var missing, unexpected, wrong []int64
	for id, c := range want {
		got, ok := d.bodies[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case got != c:
			wrong = append(wrong, id)
		}
	}
	for id, keys := range d.accepted {
		if _, ok := want[id]; !ok {
			unexpected = append(unexpected, id)
		}
		st.Duplicates += len(keys) - 1
		for _, k := range keys[1:] {
			// The key of a duplicate is that of the first attempt.
			if k != d.attempts[id][0].key {
				require.Failf(t, "duplicate with another key", "customer %d accepted again with key %q, first attempt had %q", id, k, d.attempts[id][0].key)
			}
		}
	}
	require.Empty(t, sample(missing), "customers never accepted (%d)", len(missing))
	require.Empty(t, sample(unexpected), "customers accepted that are not in the input (%d)", len(unexpected))
	if len(wrong) > 0 {
		id := sample(wrong)[0]
		require.Failf(t, "customers accepted with wrong values", "%d customers, e.g. %d: got %+v, want %+v", len(wrong), id, d.bodies[id], want[id])
	}
	return st
}

// checkRetryAfter asserts that every customer answered with a Retry-After
// was not tried again before it ran out, and returns how many such waits
// were checked.
func (d *crmDouble) checkRetryAfter(t *testing.T) int {
	t.Helper()
	// Clocks agree (one machine); the slack covers the granularity of
	// PostgreSQL's and Go's clocks.
	const slack = 50 * time.Millisecond
	d.mu.Lock()
	defer d.mu.Unlock()
	checked := 0
	for id, as := range d.attempts {
		for i, a := range as[:len(as)-1] {
			if a.retryAfter <= 0 {
				continue
			}
			checked++
			next := as[i+1]
			if gap := next.at.Sub(a.answered); gap < a.retryAfter-slack {
				require.Failf(t, "Retry-After not respected", "customer %d answered %d with Retry-After %s, tried again %s later", id, a.status, a.retryAfter, gap.Round(time.Millisecond))
			}
		}
	}
	return checked
}

// sample returns up to 10 of ids, sorted, for messages.
func sample(ids []int64) []int64 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) > 10 {
		return ids[:10]
	}
	return ids
}

// TestCRMDouble checks the double itself: validation, faults, duplicates.
func TestCRMDouble(t *testing.T) {
	d := newCRM(t, faults{}, 1)
	post := func(body, key string) int {
		req, err := http.NewRequest(http.MethodPost, d.URL(), bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	good := `{"id":7,"first_name":"A","last_name":"B","email":"a@b","phone":"1"}`
	tests := []struct {
		name, body, key string
		want            int
	}{
		{"accepted", good, common.IdempotencyKey(7), 200},
		{"repeat of a key", good, common.IdempotencyKey(7), 200},
		{"no key", good, "", 400},
		{"missing field", `{"id":8,"first_name":"A","last_name":"B","email":"a@b"}`, "k", 400},
		{"extra field", `{"id":8,"first_name":"A","last_name":"B","email":"a@b","phone":"1","x":1}`, "k", 400},
		{"null field", `{"id":8,"first_name":null,"last_name":"B","email":"a@b","phone":"1"}`, "k", 400},
		{"not JSON", `id=8`, "k", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, post(tt.body, tt.key))
		})
	}
	d.mu.Lock()
	assert.Len(t, d.bad, 5)
	d.bad = nil
	d.mu.Unlock()
	st := d.check(t, map[int64]common.Customer{7: {ID: 7, FirstName: "A", LastName: "B", Email: "a@b", Phone: "1"}})
	assert.Equal(t, crmStats{Requests: 7, Retries: 1, Duplicates: 1}, st)

	d.setFaults(faults{LimitRate: 1, RetryAfter: 3})
	assert.Equal(t, 429, post(`{"id":9,"first_name":"A","last_name":"B","email":"a@b","phone":"1"}`, common.IdempotencyKey(9)))
	d.setFaults(faults{Unavailable: true})
	assert.Equal(t, 503, post(`{"id":9,"first_name":"A","last_name":"B","email":"a@b","phone":"1"}`, common.IdempotencyKey(9)))
	assert.Equal(t, 1, d.statusCount(429))
	assert.Equal(t, 1, d.statusCount(503))

	d.stopListening(t)
	_, err := http.Post(d.URL(), "application/json", bytes.NewReader([]byte(good)))
	require.Error(t, err, "connection refused while stopped")
	d.startListening(t)
	d.setFaults(faults{})
	assert.Equal(t, 200, post(good, common.IdempotencyKey(7)))
}
