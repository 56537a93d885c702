package main_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// A dry run against a database goquiz never used counts every row new and
// leaves the database as it found it: no table, no function.
func TestDryRunOnAnEmptyDatabaseCreatesNothing(t *testing.T) {
	dsn := pgtest.DSN(t)
	path := writeFile(t, "day1.csv", "id,first_name,last_name,email,phone\n1,A,B,a@x,1\n2,C,D,c@x,2\n1,E,F,e@x,3\n3,bad\n")
	for _, mode := range []string{"insert", "upsert"} {
		res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "SYNC_MODE=" + mode, "CHUNK_SIZE=1"}, nil, "--dry-run", path)
		require.Equal(t, 0, res.Code, res.Stderr)
		assert.Contains(t, res.Stdout, "nothing stored: read 4 rows: 2 new, 0 changed, 0 unchanged, 1 duplicates, 1 rejected", mode)
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var objects int
	require.NoError(t, db.QueryRow(`SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')
		+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public')`).Scan(&objects))
	assert.Zero(t, objects, "the dry run created tables or functions")

	// The load then does what the dry run said.
	res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "CHUNK_SIZE=1"}, nil, path)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stdout, "read 4 rows: 2 stored, 1 duplicates, 1 rejected")
}
