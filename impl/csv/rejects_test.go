package csv

import (
	"bytes"
	stdcsv "encoding/csv"
	"errors"
	"io"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestDefuse(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain text", "plain text"},
		{"Jean-Luc,a@b.c,555-1234", "Jean-Luc,a@b.c,555-1234"},
		{"=1+2", "'=1+2"},
		{"+33 6 12", "'+33 6 12"},
		{"-5,a,b", "'-5,a,b"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"1,=HYPERLINK(\"x\")", "1,'=HYPERLINK(\"x\")"},
		{"1;=cmd|' /C calc'!A0", "1;'=cmd|' /C calc'!A0"},
		{"1\t+1|-1\n@x\r=y", "1\t'+1|'-1\n'@x\r'=y"},
		{"1, \"=2\"", "1, \"'=2\""},
		{"a=b+c-d@e", "a=b+c-d@e"},
		{"'=already", "'=already"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, Defuse(tt.in))
		})
	}
}

func TestRejectWriter(t *testing.T) {
	var buf bytes.Buffer
	rw, err := NewRejectWriter(&buf)
	require.NoError(t, err)
	for _, r := range []common.Reject{
		{Line: 2, Reason: "has 4 fields, header has 5", Text: "2,b@x.com,Bob"},
		{Line: 3, Reason: `id "=1" is not a positive integer`, Text: "=1;a;b;c;d"},
		{Line: 4, Reason: "bare quote in unquoted field 2", Text: "4,a\"b,\r\nc"},
		{Line: 7, Reason: "first_name is not valid UTF-8", Text: "7,a\xffb,c"},
		{Line: 9, Reason: "-", Text: ""},
		{Line: 10, Reason: "has 2 fields, header has 5", Text: "10,a\x00b"},
	} {
		require.NoError(t, rw.WriteReject(r))
	}
	require.NoError(t, rw.Flush())
	assert.Equal(t, int64(6), rw.Count())
	assert.Equal(t, "line,reason,record\n"+
		"2,\"has 4 fields, header has 5\",\"2,b@x.com,Bob\"\n"+
		"3,\"id \"\"=1\"\" is not a positive integer\",\"'=1;a;b;c;d\"\n"+
		"4,\"bare quote in unquoted field 2\",\"4,a\"\"b,\r\nc\"\n"+
		"7,\"first_name is not valid UTF-8\",\"7,a\\xffb,c\"\n"+
		"9,\"'-\",\"\"\n"+
		"10,\"has 2 fields, header has 5\",\"10,a\\x00b\"\n", buf.String())
	recs, err := stdcsv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"4", "bare quote in unquoted field 2", "4,a\"b,\nc"}, recs[3])
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRejectWriterHeaderErrorIsAtOnce(t *testing.T) {
	_, err := NewRejectWriter(failingWriter{})
	assert.ErrorContains(t, err, "write rejects header: disk full")
}

// fullDisk is a file on a disk with room for limit bytes: a write past it
// writes what fits and fails, as write(2) does with ENOSPC.
type fullDisk struct {
	data  []byte
	limit int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	n := min(len(p), d.limit-len(d.data))
	d.data = append(d.data, p[:n]...)
	if n < len(p) {
		return n, syscall.ENOSPC
	}
	return n, nil
}

func (d *fullDisk) Truncate(size int64) error {
	d.data = d.data[:size]
	return nil
}

// A disk that fills up while rejects are written leaves a file of whole
// rows, valid CSV and UTF-8, and the error says why, then and after.
func TestRejectWriterOnAFullDisk(t *testing.T) {
	row := common.Reject{Line: 2, Reason: "has 2 fields, header has 5", Text: "2,Zoë Œuvray ß €"}
	tests := []struct {
		name  string
		limit int
	}{
		{"full at the header", 7},
		{"full mid-row", rejectsBuffer + 1000},
		{"full inside a character", rejectsBuffer + 30},
		{"full after several writes", 3*rejectsBuffer + 4567},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fullDisk{limit: tt.limit}
			rw, err := NewRejectWriter(d)
			if tt.limit < len("line,reason,record\n") {
				require.ErrorIs(t, err, syscall.ENOSPC)
				return
			}
			require.NoError(t, err)
			for err == nil {
				err = rw.WriteReject(row)
			}
			require.ErrorIs(t, err, syscall.ENOSPC)
			assert.ErrorIs(t, rw.WriteReject(row), syscall.ENOSPC, "sticky")
			assert.ErrorIs(t, rw.Flush(), syscall.ENOSPC)

			assert.True(t, utf8.Valid(d.data), "valid UTF-8")
			recs, err := stdcsv.NewReader(bytes.NewReader(d.data)).ReadAll()
			require.NoError(t, err, "valid CSV")
			require.NotEmpty(t, recs)
			assert.Equal(t, []string{"line", "reason", "record"}, recs[0])
			for _, r := range recs[1:] {
				assert.Equal(t, []string{"2", row.Reason, row.Text}, r)
			}
			assert.Greater(t, len(d.data), tt.limit-64, "the rows that fit whole are kept")
		})
	}
}

// TestRejectsOfAnExport reads a semicolon export in windows-1252 whose
// rejected rows hold formula-like values and bytes that do not decode,
// and writes their rejects: a comma-separated UTF-8 file whose values
// read as text in a spreadsheet.
func TestRejectsOfAnExport(t *testing.T) {
	in := "Nr;Vorname;Nachname;E-Mail;Telefon\r\n" +
		"1;Fran\xe7ois;M\xfcller;f@x.de;+49 30 1\r\n" +
		"x2;=HYPERLINK(\"http://evil\";\"Klick\");Gro\xdf;g@x.de;@SUM(1)\r\n" +
		"3;\x81;\x80;h@x.de;-1\r\n" +
		"4;\"=1+2\";\"a;b\";i@x.de\r\n"
	opts := Options{
		Encoding:  lookup(t, "windows-1252"),
		Delimiter: ';',
		Columns:   columnsOf(t, "id=Nr,first_name=Vorname,last_name=Nachname,email=E-Mail,phone=Telefon"),
	}
	r, err := NewReader(bytes.NewReader([]byte(in)), opts)
	require.NoError(t, err)
	var out bytes.Buffer
	rw, err := NewRejectWriter(&out)
	require.NoError(t, err)
	var stored []common.Customer
	for {
		c, rej, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if rej != nil {
			require.NoError(t, rw.WriteReject(*rej))
			continue
		}
		stored = append(stored, c)
	}
	require.NoError(t, rw.Flush())
	// Stored values keep their text: only the rejects file is defused.
	assert.Equal(t, []common.Customer{{ID: 1, FirstName: "François", LastName: "Müller", Email: "f@x.de", Phone: "+49 30 1"}}, stored)
	assert.True(t, utf8.Valid(out.Bytes()))
	assert.Equal(t, "line,reason,record\n"+
		"3,\"bare quote in unquoted field 2\",\"x2;'=HYPERLINK(\"\"http://evil\"\";\"\"Klick\"\");Groß;g@x.de;'@SUM(1)\"\n"+
		"4,\"first_name is not valid windows-1252: \\x81\",\"3;\\x81;€;h@x.de;'-1\"\n"+
		"5,\"has 4 fields, header has 5\",\"4;\"\"'=1+2\"\";\"\"a;b\"\";i@x.de\"\n",
		out.String())
}
