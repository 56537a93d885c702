package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	stdcsv "encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/testbin"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, testbin.Cleanup)
}

const sharedFile = "../../../shared/data/customers-1000.csv"

func parser(t *testing.T) string { return testbin.Build(t, "goquiz/cmd/parser") }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// customersCSV returns a header and n rows of customers numbered from 1.
func customersCSV(n int) *strings.Builder {
	var b strings.Builder
	b.WriteString("id,first_name,last_name,email,phone\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,First%d,Last%d,u%d@example.com,555 %04d\n", i, i, i, i, i)
	}
	return &b
}

func stored(t *testing.T, dsn string) map[int64][4]string {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT id, first_name, last_name, email, phone FROM customers`)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return map[int64][4]string{}
	}
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64][4]string{}
	for rows.Next() {
		var id int64
		var v [4]string
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2], &v[3]))
		out[id] = v
	}
	return out
}

func readRejects(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := stdcsv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	require.Equal(t, []string{"line", "reason", "record"}, recs[0])
	return recs[1:]
}

func TestLoadsTheSharedFileOnceAcrossRuns(t *testing.T) {
	if _, err := os.Stat(sharedFile); err != nil {
		t.Skipf("shared data file not found: %v", err)
	}
	dsn := pgtest.DSN(t)
	env := []string{"DSN=" + dsn, "CHUNK_SIZE=300"}
	res := testbin.Run(t, parser(t), env, nil, sharedFile)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "read 1000 rows: 1000 stored, 0 duplicates, 0 rejected")
	got := stored(t, dsn)
	require.Len(t, got, 1000)
	assert.Equal(t, [4]string{"Hadleigh", "Mahedy", "hmahedy0@diigo.com", "840 586 9744"}, got[1])

	res = testbin.Run(t, parser(t), env, nil, sharedFile)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "read 1000 rows: 0 stored, 1000 duplicates, 0 rejected")
	assert.Len(t, stored(t, dsn), 1000)
}

func TestBrokenRowsAreRejectedAndTheRestLoads(t *testing.T) {
	content := strings.Join([]string{
		"ID,Email,first_name,last_name,phone,extra", // 1: any order, any case, extra column
		"1,a@x.com,Ann,Lee,555 1,x",                 // 2
		"2,b@x.com,Bob",                             // 3: too few fields
		"1.5,c@x.com,C,D,555,x",                     // 4: bad id
		"3,\"multi",                                 // 5: quoted newline...
		"line@x.com\",Cy,\"O\"\"Neil\", 555 3 ,x",   // 6: ...ends here
		"",                                       // 7: blank line, skipped
		"4,d@x.com,D\"an,E,555,x",                // 8: bare quote
		"1,dup@x.com,Dup,Dup,555,x",              // 9: duplicate of 1
		"-5,e@x.com,E,F,555,x",                   // 10: signed id
		"5,,,,,x",                                // 11: empty values
		"99999999999999999999,f@x.com,F,G,555,x", // 12: id too large
		"6,\"g@x.com\"x,G,H,555,x",               // 13: text after closing quote
		"7,h@x.com,H,I,555,x",                    // 14
		"8,\"never closes,H,I,555,x",             // 15: unclosed quote to the end
		"9,i@x.com,I,J,555,x",
	}, "\r\n")
	path := writeFile(t, "messy.csv", content)
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	dsn := pgtest.DSN(t)
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "REJECTS=" + rejects, "CHUNK_SIZE=2"}, nil, path)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "read 12 rows: 4 stored, 1 duplicates, 7 rejected")

	got := stored(t, dsn)
	assert.Equal(t, map[int64][4]string{
		1: {"Ann", "Lee", "a@x.com", "555 1"},
		3: {"Cy", "O\"Neil", "multi\r\nline@x.com", " 555 3 "},
		5: {"", "", "", ""},
		7: {"H", "I", "h@x.com", "555"},
	}, got)

	recs := readRejects(t, rejects)
	lines := make([]string, len(recs))
	for i, r := range recs {
		lines[i] = r[0]
	}
	assert.Equal(t, []string{"3", "4", "8", "10", "12", "13", "15"}, lines)
	assert.Contains(t, recs[0][1], "fields")
	assert.Equal(t, "2,b@x.com,Bob", recs[0][2])
	assert.Equal(t, `id "1.5" is not a positive integer`, recs[1][1])
	assert.Contains(t, recs[2][1], "quote")
	assert.Contains(t, recs[6][1], "never closes")
	assert.True(t, strings.HasPrefix(recs[6][2], "8,\"never closes"))
}

func TestInputForms(t *testing.T) {
	csv := "id,first_name,last_name,email,phone\n1,A,B,a@b.c,1\n2,C,D,c@d.e,2\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("\xEF\xBB\xBF" + csv))
	require.NoError(t, zw.Close())
	gzPath := writeFile(t, "customers.csv.gz", gz.String())
	// gzip is recognised by its magic bytes, not its name.
	gzNoExt := writeFile(t, "customers.dat", gz.String())

	tests := []struct {
		name  string
		args  []string
		stdin []byte
		want  int
	}{
		{"plain file", []string{writeFile(t, "c.csv", csv)}, nil, 2},
		{"gzip file", []string{gzPath}, nil, 2},
		{"gzip without extension", []string{gzNoExt}, nil, 2},
		{"standard input", []string{"-"}, []byte(csv), 2},
		{"gzip on standard input", []string{"-"}, gz.Bytes(), 2},
		{"generated customers", []string{"250"}, nil, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			res := testbin.Run(t, parser(t), []string{"DSN=" + dsn}, tt.stdin, tt.args...)
			require.Equal(t, 0, res.Code, res.Stderr)
			got := stored(t, dsn)
			assert.Len(t, got, tt.want)
			if tt.want == 250 {
				for id, v := range got {
					assert.NotEmpty(t, v[0], "generated customer %d has a first name", id)
					assert.Contains(t, v[2], "@")
				}
			}
		})
	}
}

func TestFatalErrors(t *testing.T) {
	good := writeFile(t, "good.csv", "id,first_name,last_name,email,phone\n1,A,B,a@b.c,1\n")
	tests := []struct {
		name    string
		args    []string
		env     []string
		code    int
		message string
	}{
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.csv")}, nil, 1, "no such file"},
		{"empty input", []string{writeFile(t, "empty.csv", "")}, nil, 1, "empty input"},
		{"header without a required column", []string{writeFile(t, "h.csv", "id,first_name,last_name,phone\n1,A,B,1\n")}, nil, 1, `"email"`},
		{"no argument", nil, nil, 2, "expected one argument"},
		{"bad chunk size", []string{good}, []string{"CHUNK_SIZE=abc"}, 2, "CHUNK_SIZE"},
		{"zero chunk size", []string{good}, []string{"CHUNK_SIZE=0"}, 2, "CHUNK_SIZE"},
		{"database unreachable", []string{good}, []string{"DSN=postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable", "CONNECT_TIMEOUT=1s"}, 1, "connect to PostgreSQL"},
		{"DSN URL that does not parse", []string{good}, []string{"DSN=postgres://u:hunter2@127.0.0.1:abc/db"}, 2, "DSN postgres://u:***@127.0.0.1:abc/db"},
		{"DSN with a bad setting", []string{good}, []string{"DSN=host=h password=hunter2 sslmode=bogus"}, 2, "DSN host=h password=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			env := append([]string{"DSN=" + dsn}, tt.env...)
			res := testbin.Run(t, parser(t), env, nil, tt.args...)
			assert.Equal(t, tt.code, res.Code)
			assert.Contains(t, res.Stderr, tt.message)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(res.Stderr), "\n")+1, "one line: %q", res.Stderr)
			assert.NotContains(t, res.Stderr, "hunter2")
			assert.Empty(t, stored(t, dsn))
		})
	}
}

func TestFatalErrorMidFileKeepsCommittedChunks(t *testing.T) {
	// A gzip stream cut short: rows flow until the stream breaks.
	b := customersCSV(5000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(b.String()))
	require.NoError(t, zw.Close())
	cut := gz.Bytes()[:gz.Len()*2/3]
	path := writeFile(t, "cut.csv.gz", string(cut))

	dsn := pgtest.DSN(t)
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "CHUNK_SIZE=500"}, nil, path)
	require.Equal(t, 1, res.Code)
	assert.Contains(t, res.Stderr, "unexpected EOF")
	got := stored(t, dsn)
	require.NotEmpty(t, got)
	assert.Zero(t, len(got)%500, "only whole chunks are stored, got %d rows", len(got))
	for i := int64(1); i <= int64(len(got)); i++ {
		require.Contains(t, got, i)
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	res := testbin.Run(t, parser(t), nil, nil, "-h")
	require.Equal(t, 0, res.Code)
	for _, v := range []string{"DSN", "CHUNK_SIZE", "MAX_RECORD_BYTES", "REJECTS", "ENCODING", "DELIMITER", "COLUMNS", "CONNECT_TIMEOUT", "DB_TIMEOUT", "PROGRESS_INTERVAL", "SEED", "LOG_FORMAT", "Usage: parser"} {
		assert.Contains(t, res.Stdout, v)
	}
}

func TestNotifiesWhenAChunkCommits(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second}) // the schema, for LISTEN
	require.NoError(t, err)
	db.Close()
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn}, nil, "10")
	require.Equal(t, 0, res.Code, res.Stderr)
	select {
	case <-ln.Wake():
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
}
