package csv

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseID(t *testing.T) {
	const (
		notInt = " is not a positive integer"
		tooBig = " is out of range (largest id is 9223372036854775807)"
	)
	tests := []struct {
		in     string
		id     int64
		reason string
	}{
		{in: "1", id: 1},
		{in: "007", id: 7},
		{in: "9223372036854775807", id: 9223372036854775807},
		{in: "922337203685477580", id: 922337203685477580},
		{in: "0", reason: `id "0"` + notInt},
		{in: "", reason: `id ""` + notInt},
		{in: "9223372036854775808", reason: `id "9223372036854775808"` + tooBig},
		{in: "9223372036854775810", reason: `id "9223372036854775810"` + tooBig},
		// 20 digits whose first 19 fit: n*10 must not wrap around 2^64.
		{in: "20000000000000000000", reason: `id "20000000000000000000"` + tooBig},
		{in: "18446744073709551616", reason: `id "18446744073709551616"` + tooBig},
		{in: "18446744073709551617", reason: `id "18446744073709551617"` + tooBig},
		{in: "92233720368547758070", reason: `id "92233720368547758070"` + tooBig},
		{in: "99999999999999999999", reason: `id "99999999999999999999"` + tooBig},
		{in: "123456789012345678901234567890", reason: `id "123456789012345678901234567890"` + tooBig},
		// A non-digit makes it no integer, even after an overflow.
		{in: "99999999999999999999x", reason: `id "99999999999999999999x"` + notInt},
		// Shown cut to 40 bytes, its opening quote included.
		{in: "1" + strings.Repeat("0", 44), reason: `id "1` + strings.Repeat("0", 38) + `...` + tooBig},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, reason := parseID([]byte(tt.in))
			assert.Equal(t, tt.reason, reason)
			assert.Equal(t, tt.id, id)
		})
	}
}

// FuzzParseID checks parseID against strconv.ParseInt on digit strings: the
// same id when it fits int64 and is positive, out of range exactly when
// ParseInt says so.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "007", "9223372036854775807", "9223372036854775808", "18446744073709551617", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return
		}
		id, reason := parseID([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			if !strings.Contains(reason, "out of range") {
				t.Fatalf("parseID(%q) = %d, %q; ParseInt: out of range", s, id, reason)
			}
		case err != nil:
			t.Fatalf("ParseInt(%q): %v", s, err)
		case want == 0:
			if !strings.Contains(reason, "not a positive integer") {
				t.Fatalf("parseID(%q) = %d, %q; want not positive", s, id, reason)
			}
		case id != want || reason != "":
			t.Fatalf("parseID(%q) = %d, %q; want %d", s, id, reason, want)
		}
	})
}
