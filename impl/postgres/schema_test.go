package postgres_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// TestMigrateHelperProcess is not a test: it is the child process of
// TestMigrateFromFourProcesses, which runs the test binary four times.
func TestMigrateHelperProcess(t *testing.T) {
	dsn := os.Getenv("GOQUIZ_MIGRATE_DSN")
	if dsn == "" {
		t.Skip("helper process only")
	}
	db, err := postgres.Open(context.Background(), dsn, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	db.Close()
}

func TestMigrateFromFourProcesses(t *testing.T) {
	dsn := pgtest.DSN(t)
	cmds := make([]*exec.Cmd, 4)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "GOQUIZ_MIGRATE_DSN="+dsn)
	}
	for _, c := range cmds {
		require.NoError(t, c.Start())
	}
	for i, c := range cmds {
		assert.NoError(t, c.Wait(), "process %d", i)
	}
	db := openDSN(t, dsn)
	var n int
	require.NoError(t, db.SQL().QueryRow(`SELECT count(*) FROM pg_indexes WHERE tablename IN ('customers', 'claims')`).Scan(&n))
	assert.Equal(t, 6, n, "customers: primary key, due, sent_at, failed; claims: primary key, owner")
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://u@h/db?password=secret", "postgres://u@h/db?password=***"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"},
		{"host=h password='se cret' dbname=d", "host=h password=*** dbname=d"},
	}
	for _, tt := range tests {
		got := postgres.Redact(tt.in)
		assert.Equal(t, tt.want, got)
		assert.NotContains(t, got, "secret")
	}
}
