package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// smallTablespace mounts a tmpfs of size bytes owned by postgres, makes it
// a tablespace of the shared cluster, and returns a fresh database whose
// tables go there, and the tmpfs's directory. It skips when not root or
// when the cluster is not the tests' own.
func smallTablespace(t *testing.T, size int) (dsn, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs for a tablespace needs root")
	}
	pgtest.SharedCluster(t)
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres user to own the tablespace: %v", err)
	}
	dir, err = os.MkdirTemp("", "goquiz-tablespace-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.Remove(dir) })
	opts := fmt.Sprintf("size=%d,mode=0700,uid=%s,gid=%s", size, pg.Uid, pg.Gid)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })

	admin, err := sql.Open("postgres", pgtest.Server(t))
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("goquiz_small_%d", os.Getpid())
	_, err = admin.Exec("CREATE TABLESPACE " + name + " LOCATION " + pq.QuoteLiteral(dir))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec("DROP TABLESPACE IF EXISTS " + name) })
	dsn = pgtest.DSN(t) // dropped before the tablespace
	db := strings.TrimPrefix(dsn[strings.LastIndex(dsn, "/"):], "/")
	db = strings.SplitN(db, "?", 2)[0]
	_, err = admin.Exec("ALTER DATABASE " + pq.QuoteIdentifier(db) + " SET default_tablespace = " + name)
	require.NoError(t, err)
	return dsn, dir
}

// fill takes all but free bytes of the filesystem at dir, and returns a
// function that gives them back.
func fill(t *testing.T, dir string, free int64) func() {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	if avail > free {
		require.NoError(t, syscall.Fallocate(int(f.Fd()), 0, 0, avail-free))
	}
	return func() { require.NoError(t, os.Remove(path)) }
}

// versions returns how many customers are stored at each version.
func versions(t *testing.T, dsn string) map[int]int {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT version, count(*) FROM customers GROUP BY version`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var v, n int
		require.NoError(t, rows.Scan(&v, &n))
		out[v] = n
	}
	return out
}

// PostgreSQL running out of disk mid-load, in both modes: the parser stops
// with one line saying so and what was committed, and once there is room
// again a rerun stores every row once (in upsert, every change as one new
// version).
func TestDatabaseDiskFullMidLoad(t *testing.T) {
	const n = 20000
	rows := func(phone string) string {
		var b strings.Builder
		b.WriteString("id,first_name,last_name,email,phone\n")
		for i := 1; i <= n; i++ {
			p := fmt.Sprintf("555 %05d", i)
			if i%2 == 0 {
				p += phone
			}
			fmt.Fprintf(&b, "%d,First%d,Last%d,u%d@example.com,%s\n", i, i, i, i, p)
		}
		return b.String()
	}
	tests := []struct {
		mode     string
		day1     string // loaded with room, before the disk fills
		day2     string
		versions map[int]int
	}{
		{"insert", "", rows(""), map[int]int{1: n}},
		{"upsert", rows(""), rows(" x"), map[int]int{1: n / 2, 2: n / 2}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			dsn, dir := smallTablespace(t, 16<<20)
			env := []string{"DSN=" + dsn, "SYNC_MODE=" + tt.mode, "CHUNK_SIZE=1000", "PROGRESS_INTERVAL=1h"}
			if tt.day1 != "" {
				res := testbin.Run(t, parser(t), env, nil, writeFile(t, "day1.csv", tt.day1))
				require.Equal(t, 0, res.Code, res.Stderr)
			}
			day2 := writeFile(t, "day2.csv", tt.day2)
			free := fill(t, dir, 512<<10)
			res := testbin.Run(t, parser(t), env, nil, day2)
			require.Equal(t, 1, res.Code, res.Stderr)
			assert.Equal(t, 1, errorLines(res.Stderr), "one line: %q", res.Stderr)
			assert.Contains(t, res.Stderr, "No space left on device")
			assert.Contains(t, res.Stderr, "committed before the error")
			assert.Contains(t, res.Stderr, "rerun the same input to finish")
			assert.NotContains(t, res.Stderr, "goroutine")

			free()
			res = testbin.Run(t, parser(t), env, nil, day2)
			require.Equal(t, 0, res.Code, res.Stderr)
			got := stored(t, dsn)
			assert.Len(t, got, n)
			assert.Equal(t, strings.Split(strings.Split(tt.day2, "\n")[2], ",")[4], got[2][3], "the values of the file")
			assert.Equal(t, tt.versions, versions(t, dsn))
		})
	}
}
