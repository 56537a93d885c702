package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"goquiz/impl/mockcrm"
)

func TestGroup(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -1234: "-1,234"} {
		assert.Equal(t, want, Group(v))
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		store Store
		crm   mockcrm.Stats
		want  []string
	}{
		{name: "delivered once", store: Store{Stored: 2000, Sent: 2000}, crm: mockcrm.Stats{Accepted: 2000}},
		{name: "short", store: Store{Stored: 1999, Sent: 1998, Rejected: 1}, crm: mockcrm.Stats{Accepted: 1998, Duplicates: 3},
			want: []string{"1,999 rows stored, want 2,000", "1,998 rows sent, want 2,000", "1 rows rejected, want 0",
				"the CRM accepted 1,998 customers, want 2,000", "the CRM saw 3 duplicates, want 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := append(CheckStore(tt.store, Once(2000)), CheckCRM(tt.crm, Once(2000))...)
			assert.Equal(t, tt.want, got)
		})
	}
}
