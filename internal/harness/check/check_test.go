package check

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"goquiz/impl/mockcrm"
)

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
			got := append(InStore(tt.store, Once(2000)), InCRM(tt.crm, Once(2000))...)
			assert.Equal(t, tt.want, got)
		})
	}
}
