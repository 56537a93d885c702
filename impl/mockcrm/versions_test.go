package mockcrm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestParseVersionKey(t *testing.T) {
	tests := []struct {
		key         string
		id          int64
		version     int
		wantOK      bool
		description string
	}{
		{"goquiz-customer-42", 42, 1, true, "the first version's key"},
		{"goquiz-customer-42-v2", 42, 2, true, "a later version"},
		{"goquiz-customer-7-v13", 7, 13, true, "two digits"},
		{"goquiz-customer-42-v1", 0, 0, false, "version 1 has the plain key"},
		{"goquiz-customer-42-v02", 0, 0, false, "not canonical"},
		{"goquiz-customer-42-v", 0, 0, false, "no version"},
		{"goquiz-customer-042-v2", 0, 0, false, "not canonical id"},
		{"other-42-v2", 0, 0, false, "another prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			id, v, ok := parseVersionKey(tt.key)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, tt.version, v)
		})
	}
}

func TestVersionsInOrder(t *testing.T) {
	s := New(Config{})
	post := func(id int64, version int) int {
		return do(t, s, request{body: customerJSON(id), header: map[string]string{"Idempotency-Key": common.VersionKey(id, version)}}).Code
	}
	steps := []struct {
		id      int64
		version int
	}{
		{1, 1}, {1, 2}, {1, 2}, {1, 3}, // sent, changed twice; a duplicate of version 2
		{2, 1},         // sent once
		{3, 3}, {3, 2}, // version 2 after version 3: out of order
		{4, 2}, // only a later version (the first was replaced before it was sent)
	}
	for _, st := range steps {
		require.Equal(t, http.StatusOK, post(st.id, st.version))
	}
	assert.Equal(t, []int{1, 2, 3}, s.acceptedVersions(1))
	assert.Equal(t, []int{1}, s.acceptedVersions(2))
	assert.Equal(t, []int{3, 2}, s.acceptedVersions(3))
	assert.Equal(t, []int{2}, s.acceptedVersions(4))
	assert.Nil(t, s.acceptedVersions(5))
	st := s.Stats()
	assert.Equal(t, int64(5), st.NewerVersions, "versions after the first accepted, duplicates not counted")
	assert.Equal(t, int64(1), st.OutOfOrder)
	assert.Equal(t, int64(7), st.Accepted)
	assert.Equal(t, int64(1), st.Duplicates)
	assert.Equal(t, int64(4), s.AcceptedCount())
}
