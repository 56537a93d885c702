package csv

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"goquiz/common"
)

// FuzzDecodedReader reads arbitrary input in encodings that are decoded,
// through every path of the decoder (single-byte, multi-byte, UTF-16,
// stateful ISO-2022-JP), and checks what the Reader gives: no panic, an
// end, customers and rejects in valid UTF-8 without the decoder's marks,
// one-line reasons, and lines that never go back.
func FuzzDecodedReader(f *testing.F) {
	seeds := []string{
		header + "1,a\x81b,c,d,e\n2,\xe9,b,c,d\n",
		"id;first_name;last_name;email;phone\r\n1;\x83\x7c;\"\x81\";c;d\r\n",
		"\xff\xfei\x00d\x00,\x00\n\x00\x00\xd8",
		"\xfe\xff\x00i\x00d",
		header + "1,a\x1b$BF|K\\\x1b(B,c,d,\x8e\n",
		header + "1,\x84\x31\xa4\x37,\x81\x30,c,d\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		delim := []byte{',', ';', '\t', '|'}[len(in)%4]
		for _, name := range []string{"windows-1253", "shift_jis", "utf-16le", "iso-2022-jp", "gb18030"} {
			enc, err := LookupEncoding(name)
			if err != nil {
				t.Fatal(err)
			}
			fuzzDecoded(t, in, Options{Encoding: enc, MaxRecordBytes: fuzzMax, Delimiter: delim})
		}
	})
}

func fuzzDecoded(t *testing.T, in []byte, opts Options) {
	r, err := NewReader(bytes.NewReader(in), opts)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
		return
	}
	gzipped := len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b
	last := r.recLine
	clean := func(what, s string) {
		if !utf8.ValidString(s) || strings.IndexByte(s, marker) >= 0 {
			t.Fatalf("%s: %s %q is not clean UTF-8", opts.Encoding, what, s)
		}
	}
	for n := 0; ; n++ {
		if n > 4*len(in)+1 {
			t.Fatalf("%s: no end after %d records of %d bytes", opts.Encoding, n, len(in))
		}
		c, rej, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			if !gzipped {
				t.Fatalf("%s: fatal error on plain input: %v", opts.Encoding, err)
			}
			return
		}
		if r.recLine <= last {
			t.Fatalf("%s: record on line %d after line %d", opts.Encoding, r.recLine, last)
		}
		last = r.recLine
		if rej != nil {
			clean("reject text", rej.Text)
			clean("reason", rej.Reason)
			if rej.Reason == "" || strings.Contains(rej.Reason, "\n") {
				t.Fatalf("%s: bad reason %q", opts.Encoding, rej.Reason)
			}
			continue
		}
		for _, s := range []string{c.FirstName, c.LastName, c.Email, c.Phone} {
			clean("value", s)
		}
		if c == (common.Customer{}) {
			t.Fatal("empty customer")
		}
	}
}
