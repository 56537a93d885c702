package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
)

// A summary that cannot be written to standard output (a full disk under
// a job's log) is said on standard error; a load read to its end still
// exits 0, a dry run, whose counts are its whole result, exits 1. Both
// exited 0 having printed nothing.
func TestSummaryThatCannotBeWritten(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	in := writeFile(t, "c.csv", "id,first_name,last_name,email,phone\n1,A,B,a@b.c,1\n2,C,D,c@d.e,2\n")
	tests := []struct {
		name    string
		args    []string
		message string
		exit    int
		stored  int
	}{
		{"load", []string{in}, in + ": loaded to its end, but its summary could not be written to standard output: write /dev/stdout: no space left on device (read 2 rows: 2 stored", 0, 2},
		{"dry run", []string{"--dry-run", in}, in + ": dry run: write its counts to standard output: write /dev/stdout: no space left on device", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			cmd := exec.Command(parser(t), tt.args...)
			cmd.Env = append(os.Environ(), "DSN="+dsn)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = full, &stderr
			err := cmd.Run()
			code := 0
			if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
				code = exit.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.exit, code, stderr.String())
			assert.Contains(t, stderr.String(), tt.message)
			assert.Equal(t, 1, errorLines(stderr.String()), "one line: %q", stderr.String())
			assert.Len(t, stored(t, dsn), tt.stored)
		})
	}
}
