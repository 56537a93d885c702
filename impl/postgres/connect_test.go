package postgres_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// A connection the server, or PgBouncer, answered with an error says so,
// and is not retried for CONNECT_TIMEOUT: only a server that did not
// answer asks whether it is running.
func TestConnectErrorsNameTheirCause(t *testing.T) {
	direct := pgtest.DSN(t)
	_, pooled := pgtest.Bouncing(t, direct, pgtest.BouncerOptions{})
	missing, err := pgtest.WithDatabase(direct, "goquiz_no_such_database")
	require.NoError(t, err)
	// PgBouncer asking for a password, as in production: a wrong one is
	// refused under 08P01, which the server uses for protocol errors.
	_, withPassword := pgtest.Bouncing(t, direct, pgtest.BouncerOptions{Password: "right-pw"})
	wrongPassword := strings.Replace(withPassword, "right-pw", "hunter2", 1)
	tests := []struct {
		name, dsn string
		want      []string
	}{
		{"a startup parameter PgBouncer refuses", pooled + "&statement_timeout=1000",
			[]string{"unsupported startup parameter: statement_timeout", "refused a connection parameter", "ignore_startup_parameters"}},
		{"no such database", missing,
			[]string{"goquiz_no_such_database", "the server has no such database: create the database or fix its name in DSN"}},
		{"a password PgBouncer refuses", wrongPassword,
			[]string{"SASL authentication failed", "PgBouncer refused the login", "password in DSN"}},
		{"a TLS file DSN names that cannot be read", strings.Replace(direct, "sslmode=disable", "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt", 1),
			[]string{"/nonexistent/ca.crt", "a file DSN names for TLS (sslrootcert, sslcert or sslkey) cannot be read"}},
		{"nothing listening", "postgres://u:secret@127.0.0.1:1/db?sslmode=disable",
			[]string{"connection refused", "is the server running and is DSN right?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := postgres.Open(ctxT(t), tt.dsn, postgres.Options{ConnectTimeout: 3 * time.Second, Timeout: 2 * time.Second})
			require.Error(t, err)
			t.Log(err)
			assert.NotContains(t, err.Error(), "hunter2")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			if tt.name != "nothing listening" {
				assert.NotContains(t, err.Error(), "is the server running")
				assert.Less(t, time.Since(start), time.Second, "not retried")
			}
		})
	}
}

func TestHintNamesTheServersAnswer(t *testing.T) {
	for code, want := range map[pq.ErrorCode]string{
		"28P01": "the server refused the login: check the user and password in DSN",
		"28000": "the server refused the login",
		"3D000": "the server has no such database",
		"57P03": "the server is starting or stopping",
		"53300": "the server answered with this error",
		"08P01": "the server answered with this error",
	} {
		h := postgres.Hint(fmt.Errorf("ping: %w", &pq.Error{Code: code, Message: "m"}))
		assert.Contains(t, h, want, code)
		assert.NotContains(t, h, "is the server running", code)
	}
	assert.Contains(t, postgres.Hint(&pq.Error{Code: "08P01", Message: "pgbouncer cannot connect to server"}), "cannot reach the server")
	// PgBouncer passes on the server's refusal of its own login as the
	// user under 08P01 too.
	assert.Contains(t, postgres.Hint(&pq.Error{Code: "08P01", Message: `password authentication failed for user "u"`}), "PgBouncer's auth_file")
	for msg, want := range map[string]string{
		`no pg_hba.conf entry for host "10.0.0.5", user "u", database "d", no encryption`:           "pg_hba.conf has no entry for this host, user and database without TLS: if the server takes them only over TLS, set sslmode=verify-full",
		`no pg_hba.conf entry for host "10.0.0.5", user "u", database "d", SSL encryption`:          "pg_hba.conf has no entry for this host, user and database over TLS: add an entry (hostssl) to pg_hba.conf, or, if the server takes them only without TLS, set sslmode=disable",
		`pg_hba.conf rejects connection for host "10.0.0.5", user "u", database "d", no encryption`: "pg_hba.conf",
		`role "u" does not exist`: "the server has no such user: check the user in DSN",
	} {
		h := postgres.Hint(&pq.Error{Code: "28000", Message: msg})
		assert.Contains(t, h, want, msg)
		assert.NotContains(t, h, "password", msg)
	}
	expired := &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}
	assert.Contains(t, postgres.Hint(fmt.Errorf("ping: %w", expired)), "the server's TLS certificate was not accepted (expired or not yet valid)")
	assert.Contains(t, postgres.Hint(x509.UnknownAuthorityError{}), "sslrootcert")
	assert.Contains(t, postgres.Hint(fmt.Errorf("ping: %w", pq.ErrSSLKeyHasWorldPermissions)), "(sslkey) is readable by others")
	assert.Contains(t, postgres.Hint(errors.New("pq: couldn't parse pem from sslrootcert")), "holds no PEM certificate")
	assert.Contains(t, postgres.Hint(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "is the server running")
}

// A listening DSN that does not parse is named without its password, as
// Open's is: the URL a *url.Error repeats is left out.
func TestListenDSNThatDoesNotParseHidesItsPassword(t *testing.T) {
	_, err := postgres.Listen("postgres://u:hunter2@h/d%zz", postgres.Options{}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse listen DSN postgres://u:***@h/d%zz")
	assert.NotContains(t, err.Error(), "hunter2")
}
