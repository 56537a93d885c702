package main_test

import (
	"bytes"
	stdcsv "encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// rejectingFile writes a CSV file of n rows of which every other one is
// rejected (its id is not a number), with text in several scripts, and
// returns its path.
func rejectingFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,first_name,last_name,email,phone\n")
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		if i%2 == 0 {
			id = "x" + id
		}
		fmt.Fprintf(&b, "%s,Zoë%d,Œuvray–Groß,u%d@example.com,=1+%d\n", id, i, i, i)
	}
	return writeFile(t, "rejecting.csv", b.String())
}

// errorLines counts the lines of a parser's standard error that are not
// progress lines.
func errorLines(stderr string) int {
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "parser: progress: ") {
			n++
		}
	}
	return n
}

// A rejects file that cannot be written stops the parser with one line
// naming REJECTS and the cause, before anything is stored.
func TestRejectsFileThatCannotBeWritten(t *testing.T) {
	in := rejectingFile(t, 200)
	tests := []struct {
		name    string
		rejects string
		message string
	}{
		{"a full device", "/dev/full", "write the rejects file (REJECTS): write /dev/full: no space left on device"},
		{"a missing directory", filepath.Join(t.TempDir(), "nope", "rejects.csv"), "create the rejects file (REJECTS): open "},
		{"a directory", t.TempDir(), "is a directory"},
		{"under a file", filepath.Join(in, "rejects.csv"), "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Dir(tt.rejects)); tt.rejects == "/dev/full" && err != nil {
				t.Skip("no /dev/full here")
			}
			dsn := pgtest.DSN(t)
			res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "REJECTS=" + tt.rejects, "CHUNK_SIZE=10"}, nil, in)
			assert.Equal(t, 1, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tt.message)
			assert.Equal(t, 1, errorLines(res.Stderr), "one line: %q", res.Stderr)
			assert.Empty(t, stored(t, dsn))
		})
	}
}

// A disk that fills up while rejects are written stops the load with one
// line; the rejects file holds whole rows (valid CSV and UTF-8, its
// header first), the committed chunks stay, and a rerun with room
// finishes the job.
func TestRejectsFileOnADiskThatFillsUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	in := rejectingFile(t, 20000)
	rejects := filepath.Join(dir, "rejects.csv")
	dsn := pgtest.DSN(t)
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "REJECTS=" + rejects, "CHUNK_SIZE=100"}, nil, in)
	require.Equal(t, 1, res.Code, res.Stderr)
	assert.Equal(t, 1, errorLines(res.Stderr), "one line: %q", res.Stderr)
	assert.Contains(t, res.Stderr, "write the rejects file (REJECTS): write "+rejects+": no space left on device")
	assert.Contains(t, res.Stderr, "rerun the same input to finish")

	raw, err := os.ReadFile(rejects)
	require.NoError(t, err)
	assert.True(t, utf8.Valid(raw), "valid UTF-8")
	recs, err := stdcsv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err, "valid CSV")
	require.Greater(t, len(recs), 100, "the rejects that fit are kept")
	assert.Equal(t, []string{"line", "reason", "record"}, recs[0])
	for i, r := range recs[1:] {
		n := 2 * (i + 1)
		assert.Equal(t, []string{fmt.Sprint(n + 1), fmt.Sprintf("id \"x%d\" is not a positive integer", n),
			fmt.Sprintf("x%d,Zoë%d,Œuvray–Groß,u%d@example.com,'=1+%d", n, n, n, n)}, r)
	}
	before := len(stored(t, dsn))

	res = testbin.Run(t, parser(t), []string{"DSN=" + dsn, "REJECTS=" + filepath.Join(t.TempDir(), "rejects.csv")}, nil, in)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, fmt.Sprintf("read 20000 rows: %d stored, %d duplicates, 10000 rejected", 10000-before, before))
	assert.Len(t, stored(t, dsn), 10000)
}

// A rejects file that is the input itself, by its name, another name or
// as standard input, is a configuration error: it was truncated while
// being read, and the parser stored the rows it had buffered and exited 0.
func TestRejectsFileThatIsTheInput(t *testing.T) {
	tests := []struct {
		name  string
		stdin bool
		same  func(in string) string
	}{
		{"the same name", false, func(in string) string { return in }},
		{"another name", false, func(in string) string { return filepath.Join(filepath.Dir(in), ".", filepath.Base(in)) }},
		{"a hard link", false, func(in string) string {
			l := filepath.Join(t.TempDir(), "link.csv")
			require.NoError(t, os.Link(in, l))
			return l
		}},
		{"standard input", true, func(in string) string { return in }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rejectingFile(t, 5000)
			want, err := os.ReadFile(in)
			require.NoError(t, err)
			dsn := pgtest.DSN(t)
			cmd := exec.Command(parser(t), in)
			if tt.stdin {
				f, err := os.Open(in)
				require.NoError(t, err)
				defer f.Close()
				cmd = exec.Command(parser(t), "-")
				cmd.Stdin = f
			}
			cmd.Env = append(os.Environ(), "DSN="+dsn, "REJECTS="+tt.same(in))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, stderr.String())
			assert.Equal(t, 2, exit.ExitCode())
			assert.Contains(t, stderr.String(), "is the input")
			assert.Equal(t, 1, errorLines(stderr.String()), "one line: %q", stderr.String())
			got, err := os.ReadFile(in)
			require.NoError(t, err)
			assert.Equal(t, want, got, "the input is left as it was")
			assert.Empty(t, stored(t, dsn))
		})
	}
}
