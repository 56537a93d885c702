package mockcrm

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInOutage(t *testing.T) {
	cfg := Config{OutageEvery: time.Minute, OutageFor: 10 * time.Second}
	tests := []struct {
		name    string
		cfg     Config
		elapsed time.Duration
		want    bool
	}{
		{"start of first period", cfg, 0, false},
		{"inside first period", cfg, 5 * time.Second, false},
		{"end of first period", cfg, time.Minute - 1, false},
		{"start of second period", cfg, time.Minute, true},
		{"inside outage", cfg, time.Minute + 9*time.Second, true},
		{"end of outage", cfg, time.Minute + 10*time.Second, false},
		{"after outage", cfg, time.Minute + 30*time.Second, false},
		{"third period", cfg, 2*time.Minute + time.Second, true},
		{"no schedule", Config{}, time.Hour, false},
		{"every only", Config{OutageEvery: time.Second}, time.Hour, false},
		{"for only", Config{OutageFor: time.Second}, time.Hour, false},
		{"for longer than every", Config{OutageEvery: time.Second, OutageFor: time.Minute}, 90 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, inOutage(tt.cfg, tt.elapsed))
		})
	}
}

func TestServeOutageScheduleFakeClock(t *testing.T) {
	s := New(Config{OutageEvery: time.Minute, OutageFor: 10 * time.Second})
	start := s.start
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, http.StatusOK},
		{59 * time.Second, http.StatusOK},
		{60 * time.Second, http.StatusServiceUnavailable},
		{69 * time.Second, http.StatusServiceUnavailable},
		{70 * time.Second, http.StatusOK},
		{125 * time.Second, http.StatusServiceUnavailable},
	}
	var outages int64
	for i, st := range steps {
		s.now = func() time.Time { return start.Add(st.at) }
		w := postCustomer(t, s, int64(i+1))
		require.Equal(t, st.want, w.Code, "at %v", st.at)
		if st.want == http.StatusServiceUnavailable {
			outages++
			assert.Equal(t, "1", w.Header().Get("Retry-After"))
			assert.False(t, s.Accepted(int64(i+1)))
		}
	}
	assert.Equal(t, outages, s.Stats().Faults.Outage)
}

func TestServeOutageScheduleRealTime(t *testing.T) {
	const (
		every = 400 * time.Millisecond
		down  = 200 * time.Millisecond
	)
	s := New(Config{OutageEvery: every, OutageFor: down})
	at := func(d time.Duration) {
		time.Sleep(time.Until(s.start.Add(d)))
	}

	assert.Equal(t, http.StatusOK, postCustomer(t, s, 1).Code, "first period is up")
	at(every + down/4)
	w := postCustomer(t, s, 2)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "outage at the start of the second period")
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	at(every + down + 50*time.Millisecond)
	assert.Equal(t, http.StatusOK, postCustomer(t, s, 3).Code, "up after the outage")

	st := s.Stats()
	assert.Equal(t, int64(1), st.Faults.Outage)
	assert.Equal(t, int64(2), st.Accepted)
}
