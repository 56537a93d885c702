package csv

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/htmlindex"
)

// encode returns s in the encoding of the WHATWG name, failing the test if
// it cannot be encoded.
func encode(t *testing.T, name, s string) []byte {
	t.Helper()
	enc, err := htmlindex.Get(name)
	require.NoError(t, err)
	b, err := enc.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err, "encode %q in %s", s, name)
	return b
}

// readWith reads in with opts and returns everything Next returned.
func readWith(t *testing.T, in []byte, opts Options) (*Reader, []item) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(in), opts)
	require.NoError(t, err)
	return r, readAll(t, r)
}

func lookup(t *testing.T, label string) Encoding {
	t.Helper()
	e, err := LookupEncoding(label)
	require.NoError(t, err)
	return e
}

func TestEncodings(t *testing.T) {
	const text = header +
		"1,Zoë,Œuvre-Straße,zoe@x.fr,€ 5\n" +
		"2,\"Léa, \"\"la\"\"\",Dœ,l@x.fr,ß\n"
	want := []item{
		cust(1, "Zoë", "Œuvre-Straße", "zoe@x.fr", "€ 5"),
		cust(2, `Léa, "la"`, "Dœ", "l@x.fr", "ß"),
	}
	tests := []struct {
		name     string
		encoding string
		in       []byte
		describe string
	}{
		{"utf-8", "utf-8", []byte(text), "encoding utf-8"},
		{"utf-8 by another label", "utf8", []byte(text), "encoding utf-8 (named utf8)"},
		{"windows-1252", "windows-1252", encode(t, "windows-1252", text), "encoding windows-1252"},
		{"windows-1252 bytes", "windows-1252", []byte(header + "1,Zo\xeb,\x8cuvre-Stra\xdfe,zoe@x.fr,\x80 5\n2,\"L\xe9a, \"\"la\"\"\",D\x9c,l@x.fr,\xdf\n"), "encoding windows-1252"},
		{"iso-8859-1 reads as windows-1252", "ISO-8859-1", encode(t, "windows-1252", text), "encoding windows-1252 (named iso-8859-1)"},
		{"latin1 reads as windows-1252", "latin1", encode(t, "windows-1252", text), "encoding windows-1252 (named latin1)"},
		{"iso-8859-15", "iso-8859-15", encode(t, "iso-8859-15", text), "encoding iso-8859-15"},
		{"iso-8859-15 bytes", "iso-8859-15", []byte(header + "1,Zo\xeb,\xbcuvre-Stra\xdfe,zoe@x.fr,\xa4 5\n2,\"L\xe9a, \"\"la\"\"\",D\xbd,l@x.fr,\xdf\n"), "encoding iso-8859-15"},
		{"macintosh", "macintosh", encode(t, "macintosh", text), "encoding macintosh"},
		{"gb18030", "gb18030", encode(t, "gb18030", text), "encoding gb18030"},
		{"utf-16le", "utf-16le", encode(t, "utf-16le", text), "encoding utf-16le"},
		{"utf-16be", "utf-16be", encode(t, "utf-16be", text), "encoding utf-16be"},
		{"utf-16 with a little-endian mark", "utf-16", append([]byte{0xff, 0xfe}, encode(t, "utf-16le", text)...), "encoding utf-16le (byte-order mark)"},
		{"utf-16 with a big-endian mark", "utf-16", append([]byte{0xfe, 0xff}, encode(t, "utf-16be", text)...), "encoding utf-16be (byte-order mark)"},
		{"utf-8 with a UTF-16 mark", "utf-8", append([]byte{0xff, 0xfe}, encode(t, "utf-16le", text)...), "encoding utf-16le (byte-order mark, not utf-8)"},
		{"windows-1252 with a UTF-8 mark", "windows-1252", []byte(utf8BOM + text), "encoding utf-8 (byte-order mark, not windows-1252)"},
		{"utf-16 with a UTF-8 mark", "utf-16", []byte(utf8BOM + text), "encoding utf-8 (byte-order mark, not utf-16)"},
		{"gzip in windows-1252", "windows-1252", gz(t, string(encode(t, "windows-1252", text))), "encoding windows-1252"},
		{"gzip in utf-16 with a mark", "utf-16", gz(t, "\xfe\xff"+string(encode(t, "utf-16be", text))), "encoding utf-16be (byte-order mark)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, got := readWith(t, tt.in, Options{Encoding: lookup(t, tt.encoding)})
			assert.Equal(t, want, got)
			assert.Equal(t, tt.describe+`, delimiter ",", columns by their own names`, r.Describe())
		})
	}
}

// TestEveryWHATWGEncoding reads a file in each encoding x/text offers by
// a WHATWG name, with the letters of the encoding's script among those
// below, semicolons, a quoted delimiter and a quoted line break.
func TestEveryWHATWGEncoding(t *testing.T) {
	letters := []string{"€", "œ", "ß", "é", "Ł", "Ж", "α", "ש", "ع", "ก", "ğ", "ư", "日本", "ポ", "表", "한", "中文", "臺"}
	names := []string{
		"ibm866", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7",
		"iso-8859-8", "iso-8859-8-i", "iso-8859-10", "iso-8859-13", "iso-8859-14", "iso-8859-15",
		"iso-8859-16", "koi8-r", "koi8-u", "macintosh", "windows-874", "windows-1250", "windows-1251",
		"windows-1252", "windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257",
		"windows-1258", "x-mac-cyrillic", "gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp",
		"shift_jis", "euc-kr", "utf-16be", "utf-16le", "x-user-defined",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			enc, err := htmlindex.Get(name)
			require.NoError(t, err)
			var word strings.Builder
			for _, l := range letters {
				if _, err := enc.NewEncoder().String(l); err == nil {
					word.WriteString(l)
				}
			}
			w := word.String()
			if name != "x-user-defined" { // ASCII only
				require.NotEmpty(t, w, "no letter of the list in %s", name)
			}
			text := "id;first_name;last_name;email;phone\n" +
				"1;" + w + ";\"a;" + w + "\";e@x;\"1\n2\"\n" +
				"2;\"" + w + "\"\"\";" + w + w + ";f@x;3\n"
			for _, delim := range []byte{';', '|'} {
				in := encode(t, name, strings.ReplaceAll(text, ";", string(delim)))
				_, got := readWith(t, in, Options{Encoding: lookup(t, name), Delimiter: delim})
				assert.Equal(t, []item{
					cust(1, w, "a"+string(delim)+w, "e@x", "1\n2"),
					cust(2, w+`"`, w+w, "f@x", "3"),
				}, got, "delimiter %q", delim)
			}
		})
	}
}

func TestEncodingInvalidSequences(t *testing.T) {
	tests := []struct {
		name     string
		encoding string
		row      string // the second record, in the encoding's bytes
		letter   string // a letter of the encoding, in the third record
		want     item
		last     bool // the second record ends the input
	}{
		{name: "windows-1252 undefined byte", encoding: "windows-1252", row: "5,a\x81b,c,d,e", letter: "ß",
			want: rej(3, `first_name is not valid windows-1252: \x81`, `5,a\x81b,c,d,e`)},
		{name: "iso-8859-15 C1 bytes in an extra column", encoding: "iso-8859-15", row: "5,a,b,c,d,\x80\x9f", letter: "€",
			want: rej(3, `field 6 is not valid iso-8859-15: \x80\x9f`, `5,a,b,c,d,\x80\x9f`)},
		{name: "windows-1253 undefined byte in the id", encoding: "windows-1253", row: "\xaa5,a,b,c,d", letter: "α",
			want: rej(3, `id is not valid windows-1253: \xaa`, `\xaa5,a,b,c,d`)},
		{name: "shift_jis lead byte before a delimiter", encoding: "shift_jis", row: "5,a\x81,b,c,d", letter: "ポ",
			want: rej(3, `first_name is not valid shift_jis: \x81`, `5,a\x81,b,c,d`)},
		{name: "shift_jis lead byte before a quote", encoding: "shift_jis", row: "5,\"a\x81\",b,c,d", letter: "表",
			want: rej(3, `first_name is not valid shift_jis: \x81`, `5,"a\x81",b,c,d`)},
		{name: "euc-kr bad pair", encoding: "euc-kr", row: "5,a,\xa1\x01,c,d", letter: "한",
			want: rej(3, `last_name is not valid euc-kr: \xa1`, "5,a,\\xa1\x01,c,d")},
		{name: "iso-2022-jp 8-bit byte", encoding: "iso-2022-jp", row: "5,a,b,\x8e,d", letter: "日本",
			want: rej(3, `email is not valid iso-2022-jp: \x8e`, `5,a,b,\x8e,d`)},
		{name: "utf-16le lone surrogate", encoding: "utf-16le", row: string(encode(t, "utf-16le", "5,a,")) + "\x00\xd8" + string(encode(t, "utf-16le", ",c,d,e")), letter: "ß",
			want: rej(3, `last_name is not valid utf-16le: \x00\xd8`, `5,a,\x00\xd8,c,d,e`)},
		{name: "utf-16be odd byte at the end", encoding: "utf-16be", row: string(encode(t, "utf-16be", "5,a,b,c,d")) + "\x00", last: true,
			want: rej(3, `phone is not valid utf-16be: \x00`, `5,a,b,c,d\x00`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(encode(t, tt.encoding, header+"1,a,b,c,d\n"), tt.row...)
			want := []item{cust(1, "a", "b", "c", "d"), tt.want}
			if !tt.last {
				in = append(in, encode(t, tt.encoding, "\n6,"+tt.letter+",b,c,d\n")...)
				want = append(want, cust(6, tt.letter, "b", "c", "d"))
			}
			_, got := readWith(t, in, Options{Encoding: lookup(t, tt.encoding)})
			assert.Equal(t, want, got)
		})
	}
}

// TestEncodingReplacementCharacter: U+FFFD written in the input is text,
// where the encoding has it; bad input around it is still found.
func TestEncodingReplacementCharacter(t *testing.T) {
	for _, name := range []string{"utf-16le", "utf-16be", "gb18030"} {
		t.Run(name, func(t *testing.T) {
			in := encode(t, name, header+"1,\uFFFD,b,c,d\n2,a,b,c,d\n")
			_, got := readWith(t, in, Options{Encoding: lookup(t, name)})
			assert.Equal(t, []item{cust(1, "\uFFFD", "b", "c", "d"), cust(2, "a", "b", "c", "d")}, got)
		})
	}
}

// TestEncodingChunks reads rows in windows-1253 and UTF-16, some with
// bytes that do not decode, through readers that cut the input
// everywhere: the chunks of the decoding never move a line or a reason.
func TestEncodingChunks(t *testing.T) {
	for _, name := range []string{"windows-1253", "utf-16le"} {
		var in bytes.Buffer
		var want []item
		in.Write(encode(t, name, header))
		for i := 1; i <= 3000; i++ {
			row := fmt.Sprintf("%d,Αλέξης,b,c,%d\n", i, i)
			if i%7 == 0 {
				bad := map[string]string{"windows-1253": "\xaa", "utf-16le": "\x00\xdc"}[name]
				in.Write(encode(t, name, fmt.Sprintf("%d,x", i)))
				in.WriteString(bad)
				in.Write(encode(t, name, ",b,c,d\n"))
				shown := escapeAll(bad)
				want = append(want, rej(int64(i+1), fmt.Sprintf("first_name is not valid %s: %s", name, shown), fmt.Sprintf("%d,x%s,b,c,d", i, shown)))
				continue
			}
			in.Write(encode(t, name, row))
			want = append(want, cust(int64(i), "Αλέξης", "b", "c", fmt.Sprint(i)))
		}
		readers := map[string]func(io.Reader) io.Reader{
			"whole":       func(r io.Reader) io.Reader { return r },
			"one byte":    iotest.OneByteReader,
			"half reads":  iotest.HalfReader,
			"data at EOF": iotest.DataErrReader,
		}
		for rname, wrap := range readers {
			t.Run(name+"/"+rname, func(t *testing.T) {
				r, err := NewReader(wrap(bytes.NewReader(in.Bytes())), Options{Encoding: lookup(t, name)})
				require.NoError(t, err)
				got := readAll(t, r)
				require.Len(t, got, len(want))
				for i := range want {
					require.Equal(t, want[i], got[i], "item %d", i)
				}
			})
		}
	}
}

// escapeAll writes every byte of s as \xNN.
func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\x%02x`, s[i])
	}
	return b.String()
}

func TestEncodingHeaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		encoding string
		in       []byte
		want     string
	}{
		{"utf-16 without a mark", "utf-16", encode(t, "utf-16le", header),
			"encoding utf-16 needs a byte-order mark at the start of the input, and it has none: name the byte order with utf-16le or utf-16be"},
		{"utf-16 empty", "utf-16", nil, "empty input: no header line"},
		{"header does not decode", "windows-1252", []byte("id,first\x81name,last_name,email,phone\n"),
			`header on line 1: field 2 is not valid windows-1252: \x81`},
		{"UTF-16 read as UTF-8", "utf-8", encode(t, "utf-16le", header),
			"header has no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.in), Options{Encoding: lookup(t, tt.encoding)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := NewReader(bytes.NewReader(encode(t, "utf-16be", header)), Options{})
	assert.ErrorContains(t, err, "is it UTF-16 without a byte-order mark? (set ENCODING=utf-16le or utf-16be)")
}

func TestLookupEncoding(t *testing.T) {
	tests := []struct {
		label, want, err string
	}{
		{label: "utf-8", want: "utf-8"},
		{label: " UTF-8 ", want: "utf-8"},
		{label: "Windows-1252", want: "windows-1252"},
		{label: "cp1252", want: "windows-1252 (named cp1252)"},
		{label: "iso-8859-1", want: "windows-1252 (named iso-8859-1)"},
		{label: "ascii", want: "windows-1252 (named ascii)"},
		{label: "iso-8859-15", want: "iso-8859-15"},
		{label: "l9", want: "iso-8859-15 (named l9)"},
		{label: "sjis", want: "shift_jis (named sjis)"},
		{label: "utf-16", want: "utf-16"},
		{label: "utf-16le", want: "utf-16le"},
		{label: "", err: "is empty"},
		{label: "latin-1", err: `"latin-1" is not an encoding name of the WHATWG Encoding Standard`},
		{label: "utf-32", err: `"utf-32" is not an encoding name`},
		{label: "iso-2022-kr", err: `"iso-2022-kr" names the WHATWG replacement encoding, which reads no text`},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			e, err := LookupEncoding(tt.label)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.String())
		})
	}
	assert.Equal(t, "utf-8", Encoding{}.String())
}
