package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// A role that may not create tables where the schema goes (PostgreSQL 15
// grants CREATE on public to the database's owner only) is told what
// right it lacks and how to get it, not only the server's "permission
// denied for schema public".
func TestMissingCreatePrivilegeIsNamed(t *testing.T) {
	dsn := pgtest.DSN(t)
	admin, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer admin.Close()
	role := fmt.Sprintf("goquiz_nocreate_%d", time.Now().UnixNano())
	_, err = admin.Exec(`CREATE ROLE ` + role + ` LOGIN NOSUPERUSER`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		_, _ = admin.Exec(`DROP OWNED BY ` + role)
		_, _ = admin.Exec(`DROP ROLE ` + role)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = postgres.Open(ctx, withUser(t, dsn, role, ""), postgres.Options{ConnectTimeout: 5 * time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "permission denied for schema public")
	assert.Contains(t, err.Error(), "GRANT CREATE ON SCHEMA public TO "+role)
}
