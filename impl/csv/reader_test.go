package csv

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

const header = "id,first_name,last_name,email,phone\n"

// item is one result of Next: a customer or a reject.
type item struct {
	C *common.Customer
	R *common.Reject
}

func cust(id int64, first, last, email, phone string) item {
	return item{C: &common.Customer{ID: id, FirstName: first, LastName: last, Email: email, Phone: phone}}
}

func rej(line int64, reason, text string) item {
	return item{R: &common.Reject{Line: line, Reason: reason, Text: text}}
}

// readAll reads r to its end and returns what Next returned before io.EOF.
func readAll(t *testing.T, r *Reader) []item {
	t.Helper()
	var items []item
	for {
		c, rj, err := r.Next()
		if err == io.EOF {
			// io.EOF is sticky.
			_, _, err = r.Next()
			require.Equal(t, io.EOF, err)
			return items
		}
		require.NoError(t, err)
		if rj != nil {
			require.Zero(t, c)
			items = append(items, item{R: rj})
			continue
		}
		items = append(items, item{C: &c})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []item
	}{
		{
			name: "plain",
			in:   header + "1,Hadleigh,Mahedy,hmahedy0@diigo.com,840 586 9744\n2,Fons,Gouthier,fg@x.ru,738 206 1923\n",
			want: []item{
				cust(1, "Hadleigh", "Mahedy", "hmahedy0@diigo.com", "840 586 9744"),
				cust(2, "Fons", "Gouthier", "fg@x.ru", "738 206 1923"),
			},
		},
		{
			name: "values PostgreSQL cannot store",
			in:   header + "1,a\xffb,b,c,d\n2,a,b,c\x00,d\n3,é,b,c,d\n",
			want: []item{
				// The reject's text is valid UTF-8: the byte is escaped.
				rej(2, "first_name is not valid UTF-8", `1,a\xffb,b,c,d`),
				rej(3, "email contains a NUL byte", "2,a,b,c\x00,d"),
				cust(3, "é", "b", "c", "d"),
			},
		},
		{
			name: "no final newline",
			in:   header + "1,a,b,c,d",
			want: []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name: "header only",
			in:   header,
		},
		{
			name: "quoted commas",
			in:   header + `1,"Smith, John","a,b",",",""` + "\n",
			want: []item{cust(1, "Smith, John", "a,b", ",", "")},
		},
		{
			name: "quoted newlines",
			in:   header + "1,\"line\none\",\"\n\",c,d\n2,a,b,c,d\n3,x,\"y\",\"z\",x\"y\n",
			want: []item{
				cust(1, "line\none", "\n", "c", "d"),
				cust(2, "a", "b", "c", "d"),
				rej(6, "bare quote in unquoted field 5", "3,x,\"y\",\"z\",x\"y"),
			},
		},
		{
			name: "doubled quotes",
			in:   header + `1,"say ""hi""","""","""""",""""""` + "\n",
			want: []item{cust(1, `say "hi"`, `"`, `""`, `""`)},
		},
		{
			name: "quoted id",
			in:   header + `"42",a,b,c,d` + "\n",
			want: []item{cust(42, "a", "b", "c", "d")},
		},
		{
			name: "CRLF",
			in:   "id,first_name,last_name,email,phone\r\n1,a,b,c,d\r\n2,\"x\",\"y\",\"z\",\"w\"\r\n3,,,,\r\n",
			want: []item{
				cust(1, "a", "b", "c", "d"),
				cust(2, "x", "y", "z", "w"),
				cust(3, "", "", "", ""),
			},
		},
		{
			name: "CRLF inside quotes kept",
			in:   header + "1,\"a\r\nb\",c,d,e\r\n2,a,b,c,d\r\n",
			want: []item{cust(1, "a\r\nb", "c", "d", "e"), cust(2, "a", "b", "c", "d")},
		},
		{
			name: "lone CR is data",
			in:   header + "1,a\rb,c\r,\rd,e\r\r\n",
			want: []item{cust(1, "a\rb", "c\r", "\rd", "e\r")},
		},
		{
			name: "lone CR before an empty last field is data",
			in:   header + "1,a,b,c\r,\n",
			want: []item{cust(1, "a", "b", "c\r", "")},
		},
		{
			name: "CR at the end of input inside a quote is kept",
			in:   header + "1,\"abc\r",
			want: []item{rej(2, "quote opened on line 2 never closes", "1,\"abc\r")},
		},
		{
			name: "CR at end of input ends the record",
			in:   header + "1,a,b,c,d\r",
			want: []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name: "BOM",
			in:   "\xef\xbb\xbf" + header + "1,a,b,c,d\n",
			want: []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name: "blank lines skipped and counted",
			in:   "\n\r\n" + header + "\n1,a,b,c,d\n\r\n\n2,a,b,c\n\n",
			want: []item{
				cust(1, "a", "b", "c", "d"),
				rej(8, "has 4 fields, header has 5", "2,a,b,c"),
			},
		},
		{
			name: "blank line at end without newline",
			in:   header + "1,a,b,c,d\n\r",
			want: []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name: "header case order spaces and extra columns",
			in:   " Email ,extra,PHONE,\tlast_name,First_Name,Id,\n" + "a@b.c,x,555,Doe,John,7,\n",
			want: []item{cust(7, "John", "Doe", "a@b.c", "555")},
		},
		{
			name: "quoted header names",
			in:   `"id","first_name","last_name","email","phone"` + "\n1,a,b,c,d\n",
			want: []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name: "empty fields",
			in:   header + "1,,,,\n",
			want: []item{cust(1, "", "", "", "")},
		},
		{
			name: "spaces preserved",
			in:   header + "1, a ,b  ,  c, d \n",
			want: []item{cust(1, " a ", "b  ", "  c", " d ")},
		},
		{
			name: "field count",
			in:   header + "1,a,b,c\n2,a,b,c,d,e\n3\n4,a,b,c,d\n",
			want: []item{
				rej(2, "has 4 fields, header has 5", "1,a,b,c"),
				rej(3, "has 6 fields, header has 5", "2,a,b,c,d,e"),
				rej(4, "has 1 fields, header has 5", "3"),
				cust(4, "a", "b", "c", "d"),
			},
		},
		{
			name: "spaces only line is not blank",
			in:   header + "  \n",
			want: []item{rej(2, "has 1 fields, header has 5", "  ")},
		},
		{
			name: "ids",
			in: header +
				"1.5,a,b,c,d\n" +
				"-1,a,b,c,d\n" +
				"+1,a,b,c,d\n" +
				" 1,a,b,c,d\n" +
				"1 ,a,b,c,d\n" +
				"0,a,b,c,d\n" +
				"000,a,b,c,d\n" +
				",a,b,c,d\n" +
				"abc,a,b,c,d\n" +
				"1e3,a,b,c,d\n" +
				"0x10,a,b,c,d\n" +
				"99999999999999999999,a,b,c,d\n" +
				"9223372036854775808,a,b,c,d\n" +
				"9223372036854775807,a,b,c,d\n" +
				"007,a,b,c,d\n" +
				"\"1\n2\",a,b,c,d\n",
			want: []item{
				rej(2, `id "1.5" is not a positive integer`, "1.5,a,b,c,d"),
				rej(3, `id "-1" is not a positive integer`, "-1,a,b,c,d"),
				rej(4, `id "+1" is not a positive integer`, "+1,a,b,c,d"),
				rej(5, `id " 1" is not a positive integer`, " 1,a,b,c,d"),
				rej(6, `id "1 " is not a positive integer`, "1 ,a,b,c,d"),
				rej(7, `id "0" is not a positive integer`, "0,a,b,c,d"),
				rej(8, `id "000" is not a positive integer`, "000,a,b,c,d"),
				rej(9, `id "" is not a positive integer`, ",a,b,c,d"),
				rej(10, `id "abc" is not a positive integer`, "abc,a,b,c,d"),
				rej(11, `id "1e3" is not a positive integer`, "1e3,a,b,c,d"),
				rej(12, `id "0x10" is not a positive integer`, "0x10,a,b,c,d"),
				rej(13, `id "99999999999999999999" is out of range (largest id is 9223372036854775807)`, "99999999999999999999,a,b,c,d"),
				rej(14, `id "9223372036854775808" is out of range (largest id is 9223372036854775807)`, "9223372036854775808,a,b,c,d"),
				cust(9223372036854775807, "a", "b", "c", "d"),
				cust(7, "a", "b", "c", "d"),
				rej(17, `id "1\n2" is not a positive integer`, "\"1\n2\",a,b,c,d"),
			},
		},
		{
			name: "long id shortened in reason",
			in:   header + strings.Repeat("x", 100) + ",a,b,c,d\n",
			want: []item{rej(2, `id "`+strings.Repeat("x", 39)+`... is not a positive integer`, strings.Repeat("x", 100)+",a,b,c,d")},
		},
		{
			name: "bare quote",
			in:   header + "1,ab\"c,x,y,z\n2,a,b,c,d\n" + "3,a,b,c,\"\n",
			want: []item{
				rej(2, "bare quote in unquoted field 2", "1,ab\"c,x,y,z"),
				cust(2, "a", "b", "c", "d"),
				// A quote opening the last field never closes.
				rej(4, "quote opened on line 4 never closes", "3,a,b,c,\""),
			},
		},
		{
			name: "bare quote recovery at the end of its line",
			in:   header + "1,a\"b,\"c\nd\",e,f\n2,a,b,c,d\r\n3,\"x\"\"\"y,c,d,e\r\n4,a,b,c,d\n",
			want: []item{
				rej(2, "bare quote in unquoted field 2", "1,a\"b,\"c"),
				rej(3, "bare quote in unquoted field 1", "d\",e,f"),
				cust(2, "a", "b", "c", "d"),
				rej(5, "text after closing quote in field 2", "3,\"x\"\"\"y,c,d,e"),
				cust(4, "a", "b", "c", "d"),
			},
		},
		{
			name: "text after closing quote",
			in:   header + "1,\"a\"b,c,d,e\n1,\"a\" ,c,d,e\n1,\"a\"\rx,c,d,e\n1,\"multi\nline\"x,c,d,e\n2,a,b,c,d\n",
			want: []item{
				rej(2, "text after closing quote in field 2", "1,\"a\"b,c,d,e"),
				rej(3, "text after closing quote in field 2", "1,\"a\" ,c,d,e"),
				rej(4, "text after closing quote in field 2", "1,\"a\"\rx,c,d,e"),
				rej(5, "text after closing quote in field 2", "1,\"multi\nline\"x,c,d,e"),
				cust(2, "a", "b", "c", "d"),
			},
		},
		{
			name: "line numbers after multi-line records",
			in:   header + "1,\"a\n\nb\",c,d,e\n\n2,\"x\r\ny\",c,d\n3,a,b,c,d\n",
			want: []item{
				cust(1, "a\n\nb", "c", "d", "e"),
				rej(6, "has 4 fields, header has 5", "2,\"x\r\ny\",c,d"),
				cust(3, "a", "b", "c", "d"),
			},
		},
		{
			name: "unclosed quote runs to the end",
			in:   header + "1,a,b,c,d\n2,\"abc\n3,x,y,z,w\n\n4,a,b,c,d\n",
			want: []item{
				cust(1, "a", "b", "c", "d"),
				rej(3, "quote opened on line 3 never closes", "2,\"abc\n3,x,y,z,w\n\n4,a,b,c,d"),
			},
		},
		{
			name: "unclosed quote opened on a later line",
			in:   header + "1,\"a\nb\",c,d,\"e\nf",
			want: []item{rej(2, "quote opened on line 3 never closes", "1,\"a\nb\",c,d,\"e\nf")},
		},
		{
			name: "oversized record",
			max:  40,
			in: header +
				"1,a,b,c,d\n" +
				"2,aaaaaaaaaa,bbbbbbbbbb,cccccccccc,dddddddddd\n" +
				"3,\"aaaa\naaaa\",bbbbbbbbbb,cccccccccc,dddddddddd\r\n" +
				"4," + strings.Repeat("a", 32) + ",b,c,d\r\n" + // 40 bytes: fits
				"5," + strings.Repeat("a", 33) + ",b,c,d\r\n" + // 41 bytes
				"6,a,b,c,d\n",
			want: []item{
				cust(1, "a", "b", "c", "d"),
				rej(3, "record is larger than 40 bytes", "2,aaaaaaaaaa,bbbbbbbbbb,cccccccccc,ddddd"),
				rej(4, "record is larger than 40 bytes", "3,\"aaaa\naaaa\",bbbbbbbbbb,cccccccccc,dddd"),
				cust(4, strings.Repeat("a", 32), "b", "c", "d"),
				rej(7, "record is larger than 40 bytes", "5,"+strings.Repeat("a", 33)+",b,c,"),
				cust(6, "a", "b", "c", "d"),
			},
		},
		{
			name: "oversized last record without line break",
			max:  40,
			in:   header + "4," + strings.Repeat("a", 33) + ",b,c,d",
			want: []item{rej(2, "record is larger than 40 bytes", "4,"+strings.Repeat("a", 33)+",b,c,")},
		},
		{
			name: "last record of the limit without line break",
			max:  40,
			in:   header + "4," + strings.Repeat("a", 32) + ",b,c,d\r",
			want: []item{cust(4, strings.Repeat("a", 32), "b", "c", "d")},
		},
		{
			name: "oversized malformed record",
			max:  40,
			in:   header + "1,a\"" + strings.Repeat("a", 50) + ",b,c,d\n2,a,b,c,d\n",
			want: []item{
				rej(2, "record is larger than 40 bytes (bare quote in unquoted field 2)", "1,a\""+strings.Repeat("a", 36)),
				cust(2, "a", "b", "c", "d"),
			},
		},
		{
			name: "oversized unclosed quote",
			max:  40,
			in:   header + "1,a,b,c,d\n2,\"" + strings.Repeat("a", 50) + "\n3,a,b,c,d\n",
			want: []item{
				cust(1, "a", "b", "c", "d"),
				rej(3, "record is larger than 40 bytes (quote opened on line 3 never closes)", "2,\""+strings.Repeat("a", 37)),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.in), Options{MaxRecordBytes: tt.max})
			require.NoError(t, err)
			got := readAll(t, r)
			assert.Equal(t, tt.want, got)
		})
	}
}
