package crm

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		in   common.Customer
		want string
	}{
		{
			name: "plain",
			in:   common.Customer{ID: 42, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44 20 1234"},
			want: `{"id":42,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 1234"}`,
		},
		{
			name: "empty strings",
			in:   common.Customer{ID: 1},
			want: `{"id":1,"first_name":"","last_name":"","email":"","phone":""}`,
		},
		{
			name: "max id",
			in:   common.Customer{ID: math.MaxInt64, FirstName: "x"},
			want: `{"id":9223372036854775807,"first_name":"x","last_name":"","email":"","phone":""}`,
		},
		{
			name: "quotes and backslashes",
			in:   common.Customer{ID: 7, FirstName: `Jo "JJ"`, LastName: `O\'Brien`, Email: `a\\b`, Phone: `"`},
			want: `{"id":7,"first_name":"Jo \"JJ\"","last_name":"O\\'Brien","email":"a\\\\b","phone":"\""}`,
		},
		{
			name: "control characters",
			in:   common.Customer{ID: 8, FirstName: "a\nb\tc\rd", LastName: "\b\f", Email: "\x00\x01\x1f", Phone: "\x7f"},
			want: `{"id":8,"first_name":"a\nb\tc\rd","last_name":"\b\f","email":"\u0000\u0001\u001f","phone":"` + "\x7f" + `"}`,
		},
		{
			name: "unicode kept as is",
			in:   common.Customer{ID: 9, FirstName: "Zoë", LastName: "Łukasiewicz", Email: "东京@例え.jp", Phone: "😀"},
			want: `{"id":9,"first_name":"Zoë","last_name":"Łukasiewicz","email":"东京@例え.jp","phone":"😀"}`,
		},
		{
			name: "line and paragraph separators escaped",
			in:   common.Customer{ID: 10, FirstName: "a\u2028b\u2029c"},
			want: `{"id":10,"first_name":"a\u2028b\u2029c","last_name":"","email":"","phone":""}`,
		},
		{
			name: "html not escaped",
			in:   common.Customer{ID: 11, FirstName: "<b>&</b>"},
			want: `{"id":11,"first_name":"<b>&</b>","last_name":"","email":"","phone":""}`,
		},
		{
			name: "invalid utf-8 replaced",
			in:   common.Customer{ID: 12, FirstName: "a\xffb", LastName: "\xc3", Email: "\xed\xa0\x80"},
			want: `{"id":12,"first_name":"a\ufffdb","last_name":"\ufffd","email":"\ufffd\ufffd\ufffd","phone":""}`,
		},
		{
			name: "negative id",
			in:   common.Customer{ID: -5},
			want: `{"id":-5,"first_name":"","last_name":"","email":"","phone":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got), "invalid JSON: %q", got)
		})
	}
}

// BenchmarkEncode measures encoding a typical customer (the hand-written
// encoder it replaced is measured by this benchmark's "appender" case at
// commit e52b171).
func BenchmarkEncode(b *testing.B) {
	c := benchCustomer(123456789)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(c); err != nil {
			b.Fatal(err)
		}
	}
}
