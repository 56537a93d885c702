package crm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "120", 120 * time.Second, true},
		{"zero", "0", 0, true},
		{"white space", "  5 ", 5 * time.Second, true},
		{"huge seconds clamped", "99999999999999999999", time.Duration(maxRetryAfterSeconds) * time.Second, true},
		{"imf date in future", "Tue, 25 Nov 2025 12:00:30 GMT", 30 * time.Second, true},
		{"rfc850 date", "Tuesday, 25-Nov-25 12:01:00 GMT", time.Minute, true},
		{"asctime date", "Tue Nov 25 12:00:10 2025", 10 * time.Second, true},
		{"date in past", "Tue, 25 Nov 2025 11:00:00 GMT", 0, true},
		{"empty", "", 0, false},
		{"negative", "-1", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
