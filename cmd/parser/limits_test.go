package main_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// A load stopped by SIGINT says what its committed chunks hold, and that
// is what the table holds.
func TestInterruptedLoadSaysWhatIsCommitted(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := testbin.Start(t, parser(t), []string{"DSN=" + dsn, "CHUNK_SIZE=1000", "PROGRESS_INTERVAL=100ms", "LOG_FORMAT=json"}, "3000000")
	someStored := regexp.MustCompile(`"stored":[1-9]`)
	require.Eventually(t, func() bool { return someStored.MatchString(p.Output()) }, 30*time.Second, 50*time.Millisecond, "no chunk stored")
	p.Signal(syscall.SIGINT)
	code, err := p.Wait(30 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 1, code, p.Output())
	m := regexp.MustCompile(`interrupted: .* \(committed: (\d+) stored, (\d+) duplicates\)`).FindStringSubmatch(p.Output())
	require.NotNil(t, m, p.Output())
	assert.Equal(t, m[1], strconv.Itoa(len(stored(t, dsn))), "committed count against the table")
}

// Rows of long values are stored in chunks cut short by their size, so
// that the parser stays within 64 MiB whatever the rows: 40,000 rows of
// 2 kB (three chunks of 20 MB in memory before, 110-150 MiB).
func TestLongValuesStayWithinTheMemoryBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	w.WriteString("id,first_name,last_name,email,phone\n")
	long := strings.Repeat("x", 2000)
	for i := 1; i <= 40_000; i++ {
		fmt.Fprintf(w, "%d,%s,L,e%d@x.org,555\n", i, long, i)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	dsn := pgtest.DSN(t)
	p := testbin.Start(t, testbin.BuildNoRace(t, "goquiz/cmd/parser"), []string{"DSN=" + dsn}, path)
	status := fmt.Sprintf("/proc/%d/status", p.Pid())
	peak := 0 // the peak resident set, VmHWM, in kB, as last read
	for !p.Exited() {
		if b, err := os.ReadFile(status); err == nil {
			if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b); m != nil {
				peak, _ = strconv.Atoi(string(m[1]))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, err := p.Wait(time.Minute)
	require.NoError(t, err)
	require.Equal(t, 0, code, p.Output())
	assert.Contains(t, p.Output(), "read 40000 rows: 40000 stored")
	assert.Less(t, peak, 64<<10, "peak RSS %d MiB", peak>>10)
	t.Logf("peak RSS %d MiB", peak>>10)
}
