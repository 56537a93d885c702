package common_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "goquiz/common"
)

func TestVersionKey(t *testing.T) {
	tests := []struct {
		id      int64
		version int
		want    string
	}{
		{42, 0, "goquiz-customer-42"},
		{42, 1, "goquiz-customer-42"},
		{42, 2, "goquiz-customer-42-v2"},
		{7, 13, "goquiz-customer-7-v13"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, VersionKey(tt.id, tt.version))
		assert.Equal(t, tt.want, Customer{ID: tt.id, Version: tt.version}.IdempotencyKey())
	}
	assert.Equal(t, IdempotencyKey(42), VersionKey(42, 1), "version 1 keeps the key goquiz always sent")
}

func TestParseSyncMode(t *testing.T) {
	tests := []struct {
		in   string
		want SyncMode
		ok   bool
	}{
		{"", SyncInsert, true},
		{"insert", SyncInsert, true},
		{"upsert", SyncUpsert, true},
		{"UPSERT", "", false},
		{"merge", "", false},
	}
	for _, tt := range tests {
		got, err := ParseSyncMode(tt.in)
		if !tt.ok {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}
