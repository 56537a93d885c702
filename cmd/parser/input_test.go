package main_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// excelColumns maps the fields to the column names of the exports below.
const excelColumns = "id=Kundennummer,first_name=Vorname,last_name=Nachname,email=E-Mail-Adresse,phone=Telefon"

// excelExport is a customer export as Excel writes it in Germany: its own
// column names, semicolons, CRLF, Windows-1252.
const excelExport = "Kundennummer;Vorname;Nachname;E-Mail-Adresse;Telefon;Umsatz €\r\n" +
	"1;François;Œuvray;f@x.fr;+33 6 12;1,5\r\n" +
	"2;\"Groß; Jörg\";Müller;g@x.de;030 1;2\r\n"

var excelStored = map[int64][4]string{
	1: {"François", "Œuvray", "f@x.fr", "+33 6 12"},
	2: {"Groß; Jörg", "Müller", "g@x.de", "030 1"},
}

func cp1252(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().String(s)
	require.NoError(t, err)
	return b
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.String()
}

func TestInputSettings(t *testing.T) {
	utf16le, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(strings.ReplaceAll(excelExport, ";", "\t"))
	require.NoError(t, err)
	mapped := []string{"COLUMNS=" + excelColumns}
	tests := []struct {
		name    string
		content string
		env     []string
		summary string
	}{
		{"windows-1252 export", cp1252(t, excelExport), append([]string{"ENCODING=windows-1252", "DELIMITER=;"}, mapped...),
			`; encoding windows-1252, delimiter ";", columns id="Kundennummer", first_name="Vorname", last_name="Nachname", email="E-Mail-Adresse", phone="Telefon"`},
		{"gzip, named iso-8859-1", gzipped(t, cp1252(t, excelExport)), append([]string{"ENCODING=iso-8859-1", "DELIMITER=;"}, mapped...),
			`; encoding windows-1252 (named iso-8859-1), delimiter ";"`},
		{"utf-16 with a mark, tabs as \\t", utf16le, append([]string{"ENCODING=utf-16", `DELIMITER=\t`}, mapped...),
			`; encoding utf-16le (byte-order mark), delimiter "\t"`},
		{"utf-16 mark in utf-8 mode, a literal tab", utf16le, append([]string{"DELIMITER=\t"}, mapped...),
			`; encoding utf-16le (byte-order mark, not utf-8), delimiter "\t"`},
		{"vertical bars, COLUMNS a terminal width", "id|first_name|last_name|email|phone\n1|François|Œuvray|f@x.fr|+33 6 12\n2|Groß; Jörg|Müller|g@x.de|030 1\n",
			[]string{"DELIMITER=|", "COLUMNS=120"}, `; encoding utf-8, delimiter "|", columns by their own names`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			res := testbin.Run(t, parser(t), append([]string{"DSN=" + dsn}, tt.env...), nil, writeFile(t, "export.csv", tt.content))
			require.Equal(t, 0, res.Code, res.Stderr)
			assert.Contains(t, res.Stdout, "read 2 rows: 2 stored, 0 duplicates, 0 rejected")
			assert.Contains(t, res.Stdout, tt.summary)
			want := excelStored
			if strings.Contains(tt.summary, `delimiter "\t"`) { // the quoted delimiter is a tab
				want = map[int64][4]string{1: excelStored[1], 2: {"Groß\t Jörg", "Müller", "g@x.de", "030 1"}}
			}
			assert.Equal(t, want, stored(t, dsn))
		})
	}
}

// TestRejectsOfAnExport: the rejects of a Windows-1252 semicolon export
// are UTF-8, comma-separated, with their lines, and defused.
func TestRejectsOfAnExport(t *testing.T) {
	content := cp1252(t, excelExport+
		"x3;Zoë;=HYPERLINK(\"http://evil\";\"x\");z@x.fr;1;2\r\n"+ // 4
		"4;\"Léa\";Dœ;l@x.fr;@SUM(1)\r\n") + // 5: too few fields
		"5;\x81;b;c;d;e\r\n" + // 6: undefined in windows-1252
		cp1252(t, "6;ß;-;s@x.de;€;3\r\n")
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	dsn := pgtest.DSN(t)
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "REJECTS=" + rejects, "ENCODING=windows-1252", "DELIMITER=;", "COLUMNS=" + excelColumns},
		nil, writeFile(t, "export.csv", content))
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "read 6 rows: 3 stored, 0 duplicates, 3 rejected")
	got := stored(t, dsn)
	assert.Equal(t, [4]string{"ß", "-", "s@x.de", "€"}, got[6], "values are stored as they are")
	raw, err := os.ReadFile(rejects)
	require.NoError(t, err)
	assert.True(t, utf8.Valid(raw))
	assert.Equal(t, [][]string{
		{"4", "bare quote in unquoted field 3", `x3;Zoë;'=HYPERLINK("http://evil";"x");z@x.fr;1;2`},
		{"5", "has 5 fields, header has 6", `4;"Léa";Dœ;l@x.fr;'@SUM(1)`},
		{"6", `first_name is not valid windows-1252: \x81`, `5;\x81;b;c;d;e`},
	}, readRejects(t, rejects))
}

func TestInputConfigErrors(t *testing.T) {
	good := writeFile(t, "good.csv", "id,first_name,last_name,email,phone\n1,A,B,a@b.c,1\n")
	tests := []struct {
		name    string
		env     []string
		code    int
		message string
	}{
		{"unknown encoding", []string{"ENCODING=latin-1"}, 2, `ENCODING "latin-1" is not an encoding name of the WHATWG Encoding Standard`},
		{"empty encoding", []string{"ENCODING="}, 2, "ENCODING is empty"},
		{"replacement encoding", []string{"ENCODING=iso-2022-kr"}, 2, "ENCODING \"iso-2022-kr\" names the WHATWG replacement encoding"},
		{"bad delimiter", []string{"DELIMITER=tab"}, 2, `DELIMITER "tab" is not a delimiter this reader accepts: want ",", ";", "|" or a tab`},
		{"empty delimiter", []string{"DELIMITER="}, 2, "DELIMITER is empty"},
		{"malformed COLUMNS", []string{"COLUMNS=id:Nr"}, 2, `COLUMNS: entry 1 ("id:Nr") is not field=Header Name`},
		{"unknown field in COLUMNS", []string{"COLUMNS=id=Nr,mail=E-Mail"}, 2, `COLUMNS: entry 2 names the field "mail": the fields are id, first_name, last_name, email, phone`},
		{"one column for two fields", []string{"COLUMNS=first_name=email"}, 2, `COLUMNS: first_name and email would both be read from the column "email"`},
		{"mapped column missing", []string{"COLUMNS=email=E-Mail"}, 1, `header has no "E-Mail" (email in COLUMNS) column`},
		{"utf-16 without a mark", []string{"ENCODING=utf-16"}, 1, "encoding utf-16 needs a byte-order mark"},
		{"semicolons read with commas", []string{"DELIMITER=,"}, 1, `it looks separated by ";": set DELIMITER`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := good
			if strings.Contains(tt.name, "semicolons") {
				path = writeFile(t, "semi.csv", "id;first_name;last_name;email;phone\n1;A;B;a@b.c;1\n")
			}
			dsn := pgtest.DSN(t)
			res := testbin.Run(t, parser(t), append([]string{"DSN=" + dsn}, tt.env...), nil, path)
			assert.Equal(t, tt.code, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tt.message)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(res.Stderr), "\n")+1, "one line: %q", res.Stderr)
			assert.Empty(t, stored(t, dsn))
		})
	}
}

func TestInputConfigErrorsNameEveryVariable(t *testing.T) {
	res := testbin.Run(t, parser(t), []string{"ENCODING=latin-1", "DELIMITER=;;", "COLUMNS=mail=E-Mail"}, nil, "-")
	assert.Equal(t, 2, res.Code)
	for _, v := range []string{`ENCODING "latin-1"`, `DELIMITER ";;"`, `COLUMNS: entry 1 names the field "mail"`} {
		assert.Contains(t, res.Stderr, v)
	}
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(res.Stderr), "\n")+1, "one line: %q", res.Stderr)
}
