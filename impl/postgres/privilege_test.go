package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// A role that may not create or upgrade the schema is told what right it
// lacks and how to get it, not only the server's refusal: on a first start
// in a database it does not own (PostgreSQL 15 grants CREATE on public to
// the database's owner only), and on the first start after an upgrade
// added an object, in a schema whose tables another role owns.
func TestMissingCreatePrivilegeIsNamed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dsn, role string, admin *sql.DB)
		refusal string
		hint    string // ROLE: the role's name
	}{
		{"no right to create in public", func(*testing.T, string, string, *sql.DB) {},
			"permission denied for schema public", "the role needs the right to create tables in its schema the first time: GRANT CREATE ON SCHEMA public TO ROLE (as the database's owner)"},
		{"an upgrade, tables of another owner", func(t *testing.T, dsn, role string, admin *sql.DB) {
			openDSN(t, dsn).Close() // the schema, owned by the superuser
			for _, q := range []string{`DROP TABLE pace_limits`, `GRANT CREATE ON SCHEMA public TO ` + role,
				`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role} {
				_, err := admin.Exec(q)
				require.NoError(t, err)
			}
		}, "must be owner of table customers", "the schema is created and upgraded by the role that owns its tables: start goquiz once as that role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			admin, err := sql.Open("postgres", dsn)
			require.NoError(t, err)
			defer admin.Close()
			role := loginRole(t, admin, "goquiz_nocreate")
			tc.setup(t, dsn, role, admin)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err = postgres.Open(ctx, withUser(t, dsn, role, ""), postgres.Options{ConnectTimeout: 5 * time.Second})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refusal)
			assert.Contains(t, err.Error(), strings.ReplaceAll(tc.hint, "ROLE", role))
		})
	}
}

// The hint is given for the two refusals a role meets creating or
// upgrading the schema, and for no other: a refusal on a table or a
// function names what it lacks itself, and the GRANT on the schema would
// not help.
func TestPrivilegeHintOnlyForTheSchemaAndItsOwner(t *testing.T) {
	db := open(t)
	for _, tc := range []struct {
		err  error
		want string // "" for no hint
	}{
		{&pq.Error{Code: "42501", Message: "permission denied for schema public"}, "GRANT CREATE ON SCHEMA public TO "},
		{&pq.Error{Code: "42501", Message: "must be owner of table customers"}, "start goquiz once as that role"},
		{&pq.Error{Code: "42501", Message: "permission denied for table customers"}, ""},
		{&pq.Error{Code: "42501", Message: "permission denied for function goquiz_settle_rejects"}, ""},
		{&pq.Error{Code: "42P01", Message: `relation "customers" does not exist`}, ""},
		{errors.New("connection refused"), ""},
	} {
		got := db.PrivilegeHint(ctxT(t), tc.err)
		if tc.want == "" {
			assert.Empty(t, got, "%v", tc.err)
		} else {
			assert.Contains(t, got, tc.want, "%v", tc.err)
		}
	}
}
