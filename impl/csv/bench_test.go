package csv

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// BenchmarkReaderSettings reads the same 100k rows, with accented names,
// as UTF-8 with commas and as a Windows-1252 export with semicolons and
// its own column names: the cost of decoding, next to BenchmarkReader.
func BenchmarkReaderSettings(b *testing.B) {
	const rows = 100000
	first := []string{"Hadleigh", "François", "Zoë", "Jo"}
	last := []string{"Mahedy", "Müller", "Œuvray", "Groß"}
	var utf strings.Builder
	utf.WriteString(header)
	for i := 1; i <= rows; i++ {
		utf.WriteString(strings.Join([]string{itoa(i), first[i%4], last[i%3], "u" + itoa(i) + "@example.com", "+33 6 12 34 56 78"}, ",") + "\n")
	}
	export := strings.NewReplacer(",", ";", header, "Nr;Vorname;Nachname;E-Mail;Telefon\n").Replace(utf.String())
	cp1252, err := charmap.Windows1252.NewEncoder().String(export)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := LookupEncoding("windows-1252")
	cols, _ := ParseColumns("id=Nr,first_name=Vorname,last_name=Nachname,email=E-Mail,phone=Telefon")
	cases := []struct {
		name string
		in   []byte
		opts Options
	}{
		{"utf-8", []byte(utf.String()), Options{}},
		{"windows-1252", []byte(cp1252), Options{Encoding: enc, Delimiter: ';', Columns: cols}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(c.in), c.opts)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, rej, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil || rej != nil {
						b.Fatal(err, rej)
					}
					n++
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
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
