package crm

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// wireCustomer is the wire form of a customer for encoding/json, the
// reference the hand-written encoder is checked and benchmarked against.
type wireCustomer struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// jsonBufPool holds the buffers of encodeWithJSON.
var jsonBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeWithJSON encodes c with encoding/json into a pooled buffer and
// appends the result to dst.
func encodeWithJSON(dst []byte, c common.Customer) []byte {
	buf := jsonBufPool.Get().(*bytes.Buffer)
	defer jsonBufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wireCustomer(c)); err != nil {
		panic(err)
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

func TestAppendCustomer(t *testing.T) {
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
			got := appendCustomer(nil, tt.in)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got), "invalid JSON: %q", got)
			assert.Equal(t, string(encodeWithJSON(nil, tt.in)), string(got), "differs from encoding/json")
		})
	}
}

func TestAppendCustomerAppends(t *testing.T) {
	got := appendCustomer([]byte("prefix"), common.Customer{ID: 1})
	assert.Equal(t, `prefix{"id":1,"first_name":"","last_name":"","email":"","phone":""}`, string(got))
}

func TestEncodedSizeHintFitsUnescaped(t *testing.T) {
	c := common.Customer{ID: math.MinInt64, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "123"}
	buf := make([]byte, 0, encodedSizeHint(c))
	got := appendCustomer(buf, c)
	assert.Equal(t, cap(buf), cap(got), "body outgrew its size hint")
}

func FuzzAppendCustomer(f *testing.F) {
	f.Add(int64(1), "Ada", "Lovelace", "ada@example.com", "+1")
	f.Add(int64(math.MaxInt64), "\x00\"\\", "\xff\xfe", "\u2028", "😀")
	f.Fuzz(func(t *testing.T, id int64, first, last, email, phone string) {
		c := common.Customer{ID: id, FirstName: first, LastName: last, Email: email, Phone: phone}
		got := appendCustomer(nil, c)
		require.Equal(t, string(encodeWithJSON(nil, c)), string(got))

		var back wireCustomer
		require.NoError(t, json.Unmarshal(got, &back))
		require.Equal(t, id, back.ID)
		if utf8.ValidString(first) {
			require.Equal(t, first, back.FirstName)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	customers := []struct {
		name string
		c    common.Customer
	}{
		{"plain", common.Customer{ID: 123456789, FirstName: "Margaret", LastName: "Hamilton", Email: "margaret.hamilton@example.com", Phone: "+1 555 0100 200"}},
		{"escapes", common.Customer{ID: 123456789, FirstName: "Zoë \"Z\"", LastName: "Ó\\Brien\t", Email: "zoe@exämple.com", Phone: strings.Repeat("\x01", 4)}},
	}
	encoders := []struct {
		name string
		fn   func([]byte, common.Customer) []byte
	}{
		{"appender", func(dst []byte, c common.Customer) []byte {
			return appendCustomer(make([]byte, 0, encodedSizeHint(c)), c)
		}},
		{"encoding-json-pooled", func(dst []byte, c common.Customer) []byte {
			return encodeWithJSON(make([]byte, 0, encodedSizeHint(c)), c)
		}},
	}
	for _, cu := range customers {
		for _, enc := range encoders {
			b.Run(cu.name+"/"+enc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = enc.fn(nil, cu.c)
				}
			})
		}
	}
}
