package csv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReaderHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "empty", in: "", want: "empty input: no header line"},
		{name: "blank lines only", in: "\n\r\n\n", want: "empty input: no header line"},
		{name: "BOM only", in: "\xef\xbb\xbf", want: "empty input: no header line"},
		{
			name: "missing column",
			in:   "id,first_name,last_name,phone,notes\n1,a,b,c,d\n",
			want: `header has no "email" column (columns found: id, first_name, last_name, phone, notes) — the first line must name the columns id, first_name, last_name, email, phone (any case and order)`,
		},
		{
			name: "missing columns",
			in:   "ID,e-mail,\"a,b\",\n",
			want: `header has no "first_name", "last_name", "email", "phone" columns (columns found: ID, e-mail, "a,b", "") — the first line must name the columns id, first_name, last_name, email, phone (any case and order)`,
		},
		{
			name: "data instead of header",
			in:   "1,Hadleigh,Mahedy,hmahedy0@diigo.com,840 586 9744\n",
			want: `header has no "id", "first_name", "last_name", "email", "phone" columns (columns found: 1, Hadleigh, Mahedy, hmahedy0@diigo.com, 840 586 9744) — the first line must name the columns id, first_name, last_name, email, phone (any case and order)`,
		},
		{
			name: "column named twice",
			in:   "id,first_name,last_name,email,phone, Email\n",
			want: `header names column "email" twice (fields 4 and 6)`,
		},
		{
			name: "bare quote",
			in:   "\nid,first\"name,last_name,email,phone\n",
			want: "malformed header on line 2: bare quote in unquoted field 2",
		},
		{
			name: "text after closing quote",
			in:   "id,\"first_name\"x,last_name,email,phone\n",
			want: "malformed header on line 1: text after closing quote in field 2",
		},
		{
			name: "unclosed quote",
			in:   "id,first_name,last_name,email,\"phone\n1,a,b,c,d\n",
			want: "malformed header: quote opened on line 1 never closes",
		},
		{
			name: "too large",
			max:  16,
			in:   header,
			want: "header on line 1 is larger than 16 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.in), Options{MaxRecordBytes: tt.max})
			require.Error(t, err)
			assert.Nil(t, r)
			assert.Equal(t, tt.want, err.Error())
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := NewReader(strings.NewReader(""), Options{})
	assert.ErrorIs(t, err, ErrEmpty)
}

// TestReaderDuplicateExtraColumn: only required columns must be unique.
func TestReaderDuplicateExtraColumn(t *testing.T) {
	r, err := NewReader(strings.NewReader("note,id,first_name,last_name,email,phone,note\nx,1,a,b,c,d,y\n"), Options{})
	require.NoError(t, err)
	assert.Equal(t, []item{cust(1, "a", "b", "c", "d")}, readAll(t, r))
}
