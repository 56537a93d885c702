package csv

import (
	"bufio"
	"bytes"
	"compress/gzip"
	stdcsv "encoding/csv"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzMax is the record size limit of FuzzReader.
const fuzzMax = 64

// FuzzReader reads arbitrary input to its end with a small record limit and
// checks the reader's invariants: no panic, termination, rejects no longer
// than the limit, line numbers that never go back, and progress that ends at
// the input's size.
func FuzzReader(f *testing.F) {
	seeds := []string{
		"",
		"\n\r\n",
		"\xef\xbb\xbf" + header + "1,a,b,c,d\n",
		header + "1,Hadleigh,Mahedy,hmahedy0@diigo.com,840 586 9744\n",
		header + "1,a,b,c,d",
		header + "1,a,b,c,d\r",
		"id,first_name,last_name,email,phone\r\n1,a,b,c,d\r\n",
		" Email ,extra,PHONE,last_name,First_Name,Id\na@b.c,x,555,Doe,John,7\n",
		header + `1,"Smith, John","a""b","c` + "\n" + `d",""` + "\n",
		header + "1,\"a\r\nb\",c,d,e\r\n\r\n\n2,a,b,c,d\n",
		header + "1,a\rb,c,d,e\n",
		header + "1,a,b,c\n2,a,b,c,d,e\n",
		header + "1.5,a,b,c,d\n0,a,b,c,d\n99999999999999999999,a,b,c,d\n007,a,b,c,d\n",
		header + "1,ab\"c,x,y,z\n2,a,b,c,d\n",
		header + "1,\"a\"b,c,d,e\n1,\"a\"\rx,c,d,e\n",
		header + "1,a,b,c,d\n2,\"abc\n3,x,y,z,w\n",
		header + "2," + strings.Repeat("a", 100) + ",b,c,d\n3,a,b,c,d\n",
		header + "2,\"" + strings.Repeat("a\n", 100),
		"id,first_name,last_name,email,phone,email\n",
		"id,first\"name\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write([]byte(header + "1,a,b,c,d\n2,\"x\ny\",c,d,e\n"))
	_ = w.Close()
	f.Add(z.Bytes())

	f.Fuzz(fuzzReaderBody)
}

func fuzzReaderBody(t *testing.T, in []byte) {
	{
		r, err := NewReader(bytes.NewReader(in), Options{MaxRecordBytes: fuzzMax, Size: int64(len(in))})
		if err != nil {
			if r != nil {
				t.Fatal("NewReader returned a reader and an error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		gzipped := len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b
		last := r.recLine // the header's line
		// Every record but the last holds at least one byte of the input
		// and a blank line or more before it, so there are never more
		// results than bytes.
		for n := 0; ; n++ {
			if n > len(in)+1 && !gzipped {
				t.Fatalf("no end after %d records of %d bytes", n, len(in))
			}
			c, rej, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !gzipped {
					t.Fatalf("fatal error on plain input: %v", err)
				}
				return
			}
			if r.recLine <= last {
				t.Fatalf("record on line %d after line %d", r.recLine, last)
			}
			last = r.recLine
			if rej != nil {
				if rej.Line != r.recLine {
					t.Fatalf("reject on line %d, record on line %d", rej.Line, r.recLine)
				}
				// Bytes that are not UTF-8 are written \xNN: four
				// bytes of text for one of the record.
				if len(rej.Text) > fuzzMax && !strings.Contains(rej.Text, `\x`) || len(rej.Text) > 4*fuzzMax {
					t.Fatalf("reject text of %d bytes", len(rej.Text))
				}
				if !utf8.ValidString(rej.Text) {
					t.Fatalf("reject text %q is not UTF-8", rej.Text)
				}
				if rej.Reason == "" || strings.Contains(rej.Reason, "\n") {
					t.Fatalf("bad reason %q", rej.Reason)
				}
				if c.ID != 0 {
					t.Fatal("customer and reject returned together")
				}
			} else if c.ID <= 0 {
				t.Fatalf("customer with id %d", c.ID)
			}
		}
		if _, _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next after io.EOF returned %v", err)
		}
		if done, total := r.Progress(); done != int64(len(in)) || total != int64(len(in)) && len(in) > 0 {
			t.Fatalf("progress %d/%d at the end of %d bytes", done, total, len(in))
		}
	}
}

// FuzzRecords checks the record parser against encoding/csv on the inputs
// both accept, with each delimiter: the same fields and the same start
// lines. Inputs holding a CR are left out, as encoding/csv drops the CRs of
// CRLFs inside quotes.
func FuzzRecords(f *testing.F) {
	f.Add([]byte(header + `1,"Smith, John","a""b","c` + "\n" + `d",""` + "\n\n\n2,,\n"))
	f.Add([]byte("a,b\n\"x\ny\",\"\"\"\"\n\n"))
	f.Add([]byte("a,\"b\",\n,\nc"))
	f.Add([]byte("a;\"b;c\";d\n\"x|y\"|z\t\"\t\"\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, d := range []byte{',', ';', '\t', '|'} {
			fuzzRecordsBody(t, in, d)
		}
	})
}

func fuzzRecordsBody(t *testing.T, in []byte, delim byte) {
	{
		if bytes.IndexByte(in, '\r') >= 0 {
			return
		}
		cr := stdcsv.NewReader(bytes.NewReader(in))
		cr.FieldsPerRecord = -1
		cr.Comma = rune(delim)
		var want [][]string
		var wantLines []int64
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return // malformed for encoding/csv
			}
			line, _ := cr.FieldPos(0)
			want = append(want, rec)
			wantLines = append(wantLines, int64(line))
		}
		r := &Reader{max: len(in) + 1, line: 1, delim: delim}
		r.count.r = bytes.NewReader(in)
		r.src = bufio.NewReaderSize(&r.count, 16) // small: chunked lines
		r.br = r.src
		var got [][]string
		var gotLines []int64
		for {
			kind, err := r.readRecord()
			if err != nil {
				t.Fatal(err)
			}
			if kind == recEnd {
				break
			}
			if kind == recBlank {
				continue
			}
			if r.bad != "" || r.openLine != 0 || r.over {
				t.Fatalf("delimiter %q: record on line %d rejected (%q, quote open on %d), encoding/csv accepts it", delim, r.recLine, r.bad, r.openLine)
			}
			rec := make([]string, r.nf)
			for i := range rec {
				rec[i] = string(r.field(i))
			}
			got = append(got, rec)
			gotLines = append(gotLines, r.recLine)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("delimiter %q: records differ:\nencoding/csv %q\ncsv          %q", delim, want, got)
		}
		if !reflect.DeepEqual(wantLines, gotLines) {
			t.Fatalf("delimiter %q: lines differ: encoding/csv %v, csv %v", delim, wantLines, gotLines)
		}
	}
}
