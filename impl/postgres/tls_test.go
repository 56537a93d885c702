package postgres_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// testCerts returns, as PEM, a CA of its own and a server certificate it
// signed for "localhost", valid for an hour, with its key: the name in
// the certificate's subjectAltName when dnsNames lists it, else in its
// Common Name only (as PostgreSQL's documentation makes one).
func testCerts(t *testing.T, dnsNames []string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "goquiz test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err = x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: dnsNames, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// tlsCluster starts a throwaway cluster that takes TCP connections only
// over TLS, with a certificate for "localhost" signed by a CA of its own,
// and returns its port and the CA's file. Its pg_hba.conf lets in local
// connections, TLS connections from 127.0.0.1, and plain ones from there
// only to the database postgres as the user postgres (pgtest's readiness
// check).
func tlsCluster(t *testing.T) (port int, caFile string) {
	t.Helper()
	if _, err := pgtest.BinDir(); err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("/tmp", "goquiz-tls-") // where the postgres user can read
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	uid, gid := -1, -1
	if os.Geteuid() == 0 { // pgtest runs the server as postgres
		u, err := user.Lookup("postgres")
		require.NoError(t, err)
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	write := func(name string, data []byte, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, mode))
		if uid >= 0 {
			require.NoError(t, os.Chown(path, uid, gid))
		}
		return path
	}

	caPEM, certPEM, keyPEM := testCerts(t, []string{"localhost"})
	caFile = write("ca.crt", caPEM, 0o644)
	certFile := write("server.crt", certPEM, 0o644)
	keyFile := write("server.key", keyPEM, 0o600)
	hbaFile := write("pg_hba.conf", []byte(
		"local all all trust\n"+
			"hostnossl postgres postgres 127.0.0.1/32 trust\n"+
			"hostssl all all 127.0.0.1/32 trust\n"), 0o644)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"ssl": "on", "ssl_cert_file": certFile, "ssl_key_file": keyFile, "hba_file": hbaFile}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Stop() })
	return c.Port(), caFile
}

// A connection whose TLS certificate is not accepted, or that pg_hba.conf
// has no entry for, fails at once, with a hint naming the cause: waiting
// for CONNECT_TIMEOUT cannot fix either.
func TestTLSAndHBARefusalsFailFastWithTheirCause(t *testing.T) {
	port, caFile := tlsCluster(t)
	dsn := func(host, db, params string) string {
		return fmt.Sprintf("postgres://postgres@%s:%d/%s?%s", host, port, db, params)
	}
	tests := []struct {
		name, dsn string
		want      []string // in the error; none: it connects
		not       []string
	}{
		{"verify-full without the CA", dsn("localhost", "postgres", "sslmode=verify-full"),
			[]string{"x509: certificate signed by unknown authority", "TLS certificate", "sslrootcert"},
			[]string{"is the server running", "password"}},
		{"verify-ca without the CA", dsn("localhost", "postgres", "sslmode=verify-ca"),
			[]string{"x509: certificate signed by unknown authority", "TLS certificate", "sslrootcert"},
			[]string{"is the server running", "password"}},
		{"verify-full with the CA", dsn("localhost", "postgres", "sslmode=verify-full&sslrootcert="+caFile), nil, nil},
		{"verify-full to a name the certificate does not hold", dsn("127.0.0.1", "postgres", "sslmode=verify-full&sslrootcert="+caFile),
			[]string{"x509: cannot validate certificate for 127.0.0.1", "TLS certificate", "host name"},
			[]string{"is the server running", "password"}},
		{"no pg_hba.conf entry without TLS", dsn("127.0.0.1", "goquiz", "sslmode=disable"),
			[]string{`no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "goquiz", no encryption`, "pg_hba.conf", "sslmode"},
			[]string{"is the server running", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			db, err := postgres.Open(ctxT(t), tt.dsn, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: 5 * time.Second})
			took := time.Since(start)
			t.Logf("%.2fs: %v", took.Seconds(), err)
			if tt.want == nil {
				require.NoError(t, err)
				db.Close()
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, n := range tt.not {
				assert.NotContains(t, err.Error(), n)
			}
			assert.Less(t, took, 3*time.Second, "not retried until CONNECT_TIMEOUT")
		})
	}
}

// The listener's first connection fails as fast as Open's, with the same
// hints: LISTEN_DSN may differ from DSN.
func TestTLSAndHBARefusalsFailTheListenerFast(t *testing.T) {
	port, caFile := tlsCluster(t)
	dsn := func(host, db, params string) string {
		return fmt.Sprintf("postgres://postgres@%s:%d/%s?%s", host, port, db, params)
	}
	tests := []struct {
		name, dsn string
		want      []string // in the error; none: it listens
	}{
		{"verify-full without the CA", dsn("localhost", "postgres", "sslmode=verify-full"),
			[]string{"x509: certificate signed by unknown authority", "TLS certificate", "sslrootcert"}},
		{"verify-full with the CA", dsn("localhost", "postgres", "sslmode=verify-full&sslrootcert="+caFile), nil},
		{"verify-full to a name the certificate does not hold", dsn("127.0.0.1", "postgres", "sslmode=verify-full&sslrootcert="+caFile),
			[]string{"x509: cannot validate certificate for 127.0.0.1", "TLS certificate", "host name"}},
		{"no pg_hba.conf entry without TLS", dsn("127.0.0.1", "goquiz", "sslmode=disable"),
			[]string{`no pg_hba.conf entry for host "127.0.0.1"`, "pg_hba.conf has no entry", "sslmode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ln, err := postgres.Listen(tt.dsn, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: 5 * time.Second}, nil)
			took := time.Since(start)
			t.Logf("%.2fs: %v", took.Seconds(), err)
			if tt.want == nil {
				require.NoError(t, err)
				ln.Close()
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "is the server running")
			assert.NotContains(t, err.Error(), "password")
			assert.Less(t, took, 3*time.Second, "not retried until CONNECT_TIMEOUT")
		})
	}
}

// A server whose certificate names its host in its Common Name alone (as
// PostgreSQL's documentation makes one, and as libpq accepts) is refused
// under sslmode=verify-full by Go's TLS, at once, and the hint says why:
// the name is there, but not in a subjectAltName. The server is a TLS
// listener that answers PostgreSQL's SSLRequest, as the server does.
func TestCertificateWithItsNameInItsCommonNameOnly(t *testing.T) {
	caPEM, certPEM, keyPEM := testCerts(t, nil)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(caFile, caPEM, 0o644))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.ReadFull(c, make([]byte, 8)); err != nil { // SSLRequest
					return
				}
				if _, err := c.Write([]byte("S")); err != nil {
					return
				}
				_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
			}()
		}
	}()
	dsn := fmt.Sprintf("postgres://u:hunter2@localhost:%d/db?sslmode=verify-full&sslrootcert=%s", l.Addr().(*net.TCPAddr).Port, caFile)
	start := time.Now()
	_, err = postgres.Open(ctxT(t), dsn, postgres.Options{ConnectTimeout: 5 * time.Second, Timeout: 2 * time.Second})
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "legacy Common Name field")
	assert.Contains(t, err.Error(), "names its host only in its Common Name")
	assert.Contains(t, err.Error(), "subjectAltName")
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Less(t, time.Since(start), 2*time.Second, "not retried until CONNECT_TIMEOUT")
}
