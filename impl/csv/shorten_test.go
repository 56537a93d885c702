package csv

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShortenedValuesAreWholeCharacters: an id or a header name quoted in
// a reason or an error is cut between characters, never inside one, so
// that the line stays valid UTF-8 whatever the input's encoding.
func TestShortenedValuesAreWholeCharacters(t *testing.T) {
	long := strings.Repeat("Ä", 30) // two bytes each: a cut at 40 bytes after `"` splits one
	tests := []struct {
		name string
		in   []byte
		enc  string
		want string // the reason of the only record, or the header error
	}{
		{
			name: "id in a reason, utf-8",
			in:   []byte(header + long + ",a,b,c,d\n"),
			enc:  "utf-8",
			want: `id "` + strings.Repeat("Ä", 19) + `... is not a positive integer`,
		},
		{
			name: "id in a reason, windows-1252",
			in:   bytes.ReplaceAll([]byte(header+long+",a,b,c,d\n"), []byte("Ä"), []byte{0xc4}),
			enc:  "windows-1252",
			want: `id "` + strings.Repeat("Ä", 19) + `... is not a positive integer`,
		},
		{
			name: "header name in a missing column error",
			in:   []byte("id,first_name,last_name,email,x" + long + "\n"),
			enc:  "utf-8",
			want: `header has no "phone" column (columns found: id, first_name, last_name, email, x` +
				strings.Repeat("Ä", 19) + `...) — the first line must name the columns id, first_name, last_name, email, phone (any case and order)`,
		},
		{
			name: "quoted header name in a missing column error, windows-1252",
			in:   bytes.ReplaceAll([]byte("id,first_name,last_name,email,\"x,"+long+"\"\n"), []byte("Ä"), []byte{0xc4}),
			enc:  "windows-1252",
			want: `header has no "phone" column (columns found: id, first_name, last_name, email, "x,` +
				strings.Repeat("Ä", 18) + `...) — the first line must name the columns id, first_name, last_name, email, phone (any case and order)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.in), Options{Encoding: lookup(t, tt.enc)})
			var got string
			if err != nil {
				got = err.Error()
			} else {
				items := readAll(t, r)
				require.Len(t, items, 1)
				require.NotNil(t, items[0].R, "a reject")
				got = items[0].R.Reason
			}
			assert.True(t, utf8.ValidString(got), "valid UTF-8: %q", got)
			assert.Equal(t, tt.want, got)
		})
	}
}
