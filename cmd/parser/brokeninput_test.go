package main_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// Broken inputs, loaded and dry run: the exit status and the one line of
// the contract (issue 3, README), nothing stored by a dry run, and a
// fatal error mid-file keeping only whole chunks.
func TestBrokenInputs(t *testing.T) {
	b := customersCSV(3000)
	rows := b.String()
	z := []byte(gzipped(t, rows))
	corrupt := bytes.Clone(z)
	corrupt[len(corrupt)-6] ^= 0x40 // the checksum
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("id,first_name,last_name,email,phone\n1,A,B,a@b.c,1\n2,C,D,c@d.e,2")
	require.NoError(t, err)

	tests := []struct {
		name    string
		content []byte // nil: a directory
		env     []string
		code    int
		message string // on standard error (code 1) or standard output (code 0)
	}{
		{"empty", []byte{}, nil, 1, "empty input: no header line"},
		{"a directory", nil, nil, 1, "is a directory"},
		{"header only", []byte("id,first_name,last_name,email,phone\n"), nil, 0, "read 0 rows:"},
		{"truncated mid-row", []byte(rows[:len(rows)-20]), nil, 0, "2999 new|2999 stored, 0 duplicates, 1 rejected"},
		{"last line without newline", []byte(strings.TrimSuffix(rows, "\n")), nil, 0, "3000 new|3000 stored, 0 duplicates, 0 rejected"},
		{"gzip header cut short", z[:6], nil, 1, "broken gzip input: it ends early, the file is truncated"},
		{"gzip header corrupt", append([]byte{0x1f, 0x8b, 9}, z[3:]...), nil, 1, "broken gzip input: its header is corrupt"},
		{"gzip truncated mid-stream", z[:len(z)/2], nil, 1, "broken gzip input: it ends early, the file is truncated"},
		{"gzip checksum wrong", corrupt, nil, 1, "broken gzip input: what it holds does not match its checksum"},
		{"gzip in windows-1252", []byte(gzipped(t, cp1252(t, "id;first_name;last_name;email;phone\n1;François;Groß;f@x.fr;1\n"))), []string{"ENCODING=windows-1252", "DELIMITER=;"}, 0, "1 new|1 stored"},
		{"utf-16 with an odd byte", append([]byte(utf16), 'x'), nil, 0, "1 new|1 stored, 0 duplicates, 1 rejected"},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s dry=%t", tt.name, dry), func(t *testing.T) {
				path := t.TempDir()
				if tt.content != nil {
					path = writeFile(t, "input", string(tt.content))
				}
				args := []string{path}
				if dry {
					args = []string{"--dry-run", path}
				}
				dsn := pgtest.DSN(t)
				env := append([]string{"DSN=" + dsn, "CHUNK_SIZE=500", "REJECTS=" + t.TempDir() + "/rejects.csv"}, tt.env...)
				res := testbin.Run(t, parser(t), env, nil, args...)
				require.Equal(t, tt.code, res.Code, res.Stderr)
				assert.NotContains(t, res.Stderr, "goroutine", "no stack trace")
				got := stored(t, dsn)
				if dry {
					assert.Empty(t, got, "a dry run stores nothing")
				}
				if tt.code == 0 {
					want := strings.Split(tt.message, "|")[0] // dry run
					if !dry {
						want = strings.Split(tt.message, "|")[len(strings.Split(tt.message, "|"))-1]
					}
					assert.Contains(t, res.Stdout, want)
					return
				}
				assert.Equal(t, 1, errorLines(res.Stderr), "one line: %q", res.Stderr)
				assert.Contains(t, res.Stderr, path, "names the input")
				assert.Contains(t, res.Stderr, tt.message)
				assert.Zero(t, len(got)%500, "whole chunks only: %d rows", len(got))
				if strings.Contains(res.Stderr, "committed before the error") {
					assert.Contains(t, res.Stderr, "the input is broken there: rerun it repaired or complete to finish: what is stored is skipped)")
				}
			})
		}
	}
}
