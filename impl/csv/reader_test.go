package csv

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"runtime"
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

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestReaderGzip(t *testing.T) {
	var in strings.Builder
	in.WriteString("\xef\xbb\xbf" + header)
	for i := 1; i <= 20000; i++ {
		in.WriteString("1,a,b,c,d\n")
	}
	in.WriteString("x,a,b,c,d\n")
	z := gz(t, in.String())
	r, err := NewReader(bytes.NewReader(z), Options{Size: int64(len(z))})
	require.NoError(t, err)
	done, total := r.Progress()
	assert.Equal(t, int64(len(z)), total)
	assert.LessOrEqual(t, done, int64(len(z)))
	items := readAll(t, r)
	require.Len(t, items, 20001)
	assert.Equal(t, cust(1, "a", "b", "c", "d"), items[0])
	assert.Equal(t, rej(20002, `id "x" is not a positive integer`, "x,a,b,c,d"), items[20000])
	done, total = r.Progress()
	assert.Equal(t, int64(len(z)), done)
	assert.Equal(t, int64(len(z)), total)
}

func TestReaderGzipCorrupt(t *testing.T) {
	var in strings.Builder
	in.WriteString(header)
	for i := 1; i <= 100000; i++ {
		in.WriteString("1,abcdefgh,ijklmnop,qrstuvwxyz,0123456789\n")
	}
	z := gz(t, in.String())

	t.Run("truncated", func(t *testing.T) {
		r, err := NewReader(bytes.NewReader(z[:len(z)-100]), Options{})
		require.NoError(t, err)
		err = readFatal(t, r)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		_, _, err2 := r.Next()
		assert.Equal(t, err, err2, "fatal errors are sticky")
	})
	t.Run("corrupt", func(t *testing.T) {
		bad := bytes.Clone(z)
		for i := len(bad) / 2; i < len(bad)/2+64; i++ {
			bad[i] ^= 0x5a
		}
		r, err := NewReader(bytes.NewReader(bad), Options{})
		require.NoError(t, err)
		assert.Error(t, readFatal(t, r))
	})
	t.Run("bad header", func(t *testing.T) {
		_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 1, 2}), Options{})
		assert.ErrorContains(t, err, "gzip input:")
	})
}

// readFatal reads r until an error and checks it is not io.EOF.
func readFatal(t *testing.T, r *Reader) error {
	t.Helper()
	for {
		_, _, err := r.Next()
		if err != nil {
			require.NotEqual(t, io.EOF, err)
			return err
		}
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r, err := NewReader(&failingReader{data: []byte(header + "1,a,b,c,d\n2,a,b"), err: boom}, Options{})
	require.NoError(t, err)
	c, rj, err := r.Next()
	require.NoError(t, err)
	assert.Nil(t, rj)
	assert.Equal(t, int64(1), c.ID)
	_, _, err = r.Next()
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "read input at line 3: boom", err.Error())

	_, err = NewReader(&failingReader{err: boom}, Options{})
	assert.ErrorIs(t, err, boom)
}

func TestReaderProgress(t *testing.T) {
	in := header + "1,a,b,c,d\n" + strings.Repeat("2,a,b,c,d\n", 30000)
	r, err := NewReader(strings.NewReader(in), Options{Size: -1})
	require.NoError(t, err)
	done, total := r.Progress()
	assert.Equal(t, int64(-1), total)
	assert.Equal(t, int64(len(header)), done)
	_, _, err = r.Next()
	require.NoError(t, err)
	done, _ = r.Progress()
	assert.Equal(t, int64(len(header)+10), done)
	last := done
	for {
		_, _, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		done, _ := r.Progress()
		require.Greater(t, done, last)
		last = done
	}
	done, _ = r.Progress()
	assert.Equal(t, int64(len(in)), done)
}

// patternReader yields head, then body repeated until n bytes in all.
type patternReader struct {
	head []byte
	body []byte
	n    int64
	off  int
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	total := 0
	for len(b) > 0 {
		var n int
		if len(p.head) > 0 {
			n = copy(b, p.head)
			p.head = p.head[n:]
		} else {
			n = copy(b, p.body[p.off:])
			p.off = (p.off + n) % len(p.body)
		}
		b = b[n:]
		total += n
	}
	p.n -= int64(total)
	return total, nil
}

func TestReaderOversizedBoundedMemory(t *testing.T) {
	const size = 50 << 20
	tests := []struct {
		name   string
		head   string
		body   string
		reason string
	}{
		{
			name:   "quote never closes",
			head:   header + "1,a,b,c,d\n2,\"",
			body:   "abcdefghijklmnopqrstuvwxyz,0123456789\"\"\n",
			reason: "record is larger than 1024 bytes (quote opened on line 3 never closes)",
		},
		{
			name:   "one endless line",
			head:   header + "1,a,b,c,d\n2,",
			body:   "abcdefghijklmnopqrstuvwxyz,0123456789",
			reason: "record is larger than 1024 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &patternReader{head: []byte(tt.head), body: []byte(tt.body), n: size}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := NewReader(src, Options{MaxRecordBytes: 1024, Size: size})
			require.NoError(t, err)
			items := readAll(t, r)
			runtime.ReadMemStats(&after)
			require.Len(t, items, 2)
			assert.Equal(t, cust(1, "a", "b", "c", "d"), items[0])
			require.NotNil(t, items[1].R)
			assert.Equal(t, int64(3), items[1].R.Line)
			assert.Equal(t, tt.reason, items[1].R.Reason)
			assert.Len(t, items[1].R.Text, 1024)
			assert.True(t, strings.HasPrefix(items[1].R.Text, tt.head[len(header)+10:]))
			done, _ := r.Progress()
			assert.Equal(t, int64(size), done)
			// Everything allocated while reading 50 MB: the buffers and
			// the two results, nothing in proportion to the input.
			alloc := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, alloc, uint64(1<<20), "allocated %d bytes", alloc)
		})
	}
}

func TestReaderRealFile(t *testing.T) {
	const path = "../../../shared/data/customers-1000.csv"
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("sample file %s is absent", path)
	}
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	r, err := NewReader(f, Options{Size: st.Size()})
	require.NoError(t, err)
	items := readAll(t, r)
	var customers, rejects int
	for _, it := range items {
		if it.R != nil {
			rejects++
			t.Errorf("unexpected reject: %+v", *it.R)
		} else {
			customers++
		}
	}
	assert.Equal(t, 1000, customers)
	assert.Equal(t, 0, rejects)
	require.NotEmpty(t, items)
	assert.Equal(t, cust(1, "Hadleigh", "Mahedy", "hmahedy0@diigo.com", "840 586 9744"), items[0])
	done, total := r.Progress()
	assert.Equal(t, st.Size(), done)
	assert.Equal(t, st.Size(), total)
}

func TestReaderAllocs(t *testing.T) {
	in := []byte(header + strings.Repeat("12345,Hadleigh,Mahedy,hmahedy0@diigo.com,840 586 9744\n", 1000))
	var r *Reader
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		r, err = NewReader(bytes.NewReader(in), Options{})
		require.NoError(t, err)
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
	// One string per customer, plus the reader itself.
	assert.Less(t, allocs, 1000.0+50)
}

// BenchmarkReader reads a generated in-memory CSV of 100k rows.
func BenchmarkReader(b *testing.B) {
	const rows = 100000
	var buf bytes.Buffer
	buf.WriteString(header)
	first := []string{"Hadleigh", "Fons", "Anna-Maria", "Jo"}
	last := []string{"Mahedy", "Gouthier", "O'Neil", "de la Cruz"}
	for i := 1; i <= rows; i++ {
		f, l := first[i%len(first)], last[i%len(last)]
		buf.WriteString(strings.Join([]string{
			itoa(i), f, l, strings.ToLower(f[:1]+l) + itoa(i) + "@example.com", "840 586 9744",
		}, ","))
		if i%100 == 0 {
			buf.WriteString(`,"quoted, with comma"`) // a reject now and then
		}
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(in), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[p:])
}
