package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"strings"

	"github.com/lib/pq"
)

// What a connection error means to the programs: whether waiting may fix
// it (retryable), and what to do about it (Hint), for Open, Listen and
// the line a program stops with.

// retryable tells whether a connection error may go away by waiting: the
// server is down or starting, not a wrong password or database, nor a
// connection parameter refused, nor a server TLS certificate the client
// did not accept.
func retryable(err error) bool {
	if certRefusal(err) != "" || tlsFileError(err) != "" {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if strings.Contains(pqErr.Message, "unsupported startup parameter") || strings.HasPrefix(pqErr.Message, "no such database") ||
			bouncerLoginRefused(pqErr) {
			return false // PgBouncer's answers, under 08P01
		}
		// 57P03: cannot connect now (starting up or shutting down);
		// 53300: too many connections, for now.
		return pqErr.Code == "57P03" || pqErr.Code == "53300" || pqErr.Code.Class() == "08"
	}
	return true // network errors
}

// Hint returns what to do about a connection error, as a suffix for its
// message (" — the server refused the login…"), or "" when there is no
// advice. An error the server, or a proxy in front of it, answered with
// says so, and so does a server TLS certificate the client did not
// accept (see certRefusal); a login pg_hba.conf has no entry for is told
// from a wrong user or password. Only a connection that got no answer
// (refused, timed out, cut) asks whether the server is running.
func Hint(err error) string {
	if h := certRefusal(err); h != "" {
		return h
	}
	if h := tlsFileError(err); h != "" {
		return h
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case bouncerLoginRefused(pqErr):
			return " — PgBouncer refused the login, or could not log in to the server as this user: check the user and password in DSN, and PgBouncer's auth_file (or auth_query)"
		case pqErr.Code == "28000" && strings.Contains(pqErr.Message, "pg_hba.conf"):
			return hbaHint(pqErr.Message)
		case pqErr.Code == "28000" && strings.HasPrefix(pqErr.Message, "role ") && strings.HasSuffix(pqErr.Message, " does not exist"):
			return " — the server has no such user: check the user in DSN, or create the role"
		case pqErr.Code == "28P01" || pqErr.Code == "28000":
			return " — the server refused the login: check the user and password in DSN"
		case pqErr.Code == "3D000" || strings.HasPrefix(pqErr.Message, "no such database"):
			return " — the server has no such database: create the database or fix its name in DSN"
		case pqErr.Code == "57P03":
			return " — the server is starting or stopping: retry in a moment or raise CONNECT_TIMEOUT"
		case strings.Contains(pqErr.Message, "unsupported startup parameter"):
			return " — the server, or a proxy in front of it such as PgBouncer, refused a connection parameter: remove it from DSN, or have the proxy ignore it (ignore_startup_parameters)"
		case strings.Contains(pqErr.Message, "cannot connect to server"):
			return " — a proxy in front of PostgreSQL answered, but cannot reach the server: is the server running, and does the proxy point at it?"
		}
		return " — the server answered with this error: it is reachable, and refused"
	}
	if errors.Is(err, context.Canceled) {
		return ""
	}
	if strings.Contains(err.Error(), "SSL is not enabled") {
		return " — add sslmode=disable to DSN, or enable TLS on the server"
	}
	return " — is the server running and is DSN right?"
}

// bouncerLoginRefused tells whether err is PgBouncer's refusal of a
// login: a wrong password ("SASL authentication failed" with
// scram-sha-256, "password authentication failed" with md5), or the
// server's refusal of PgBouncer's own login as the user, passed on
// ("password authentication failed for user …"). PgBouncer sends them
// all under 08P01, which the server uses for protocol violations;
// waiting changes none of them.
func bouncerLoginRefused(err *pq.Error) bool {
	return err.Code == "08P01" && strings.Contains(err.Message, "authentication failed")
}

// commonNameOnly tells whether c names host in its Common Name and has
// no subjectAltName, as certificates made by PostgreSQL's documented
// recipe (openssl req -subj "/CN=host") do.
func commonNameOnly(c *x509.Certificate, host string) bool {
	return c != nil && strings.EqualFold(c.Subject.CommonName, host) && len(c.DNSNames) == 0 && len(c.IPAddresses) == 0
}

// tlsFileError returns the hint for a file that DSN names for TLS
// (sslrootcert, sslcert, sslkey) and that lib/pq could not use, before
// any TLS was negotiated: missing, unreadable, not PEM, or a key readable
// by others; or "" when err is none of these. Waiting changes no file:
// it is not retried.
func tlsFileError(err error) string {
	var path *fs.PathError
	switch {
	case errors.As(err, &path):
		return " — a file DSN names for TLS (sslrootcert, sslcert or sslkey) cannot be read: fix its path in DSN, or its permissions"
	case errors.Is(err, pq.ErrSSLKeyHasWorldPermissions), errors.Is(err, pq.ErrSSLKeyUnknownOwnership):
		return " — the TLS key DSN names (sslkey) is readable by others: make it readable by its owner only (chmod 600)"
	case strings.Contains(err.Error(), "couldn't parse pem from sslrootcert"):
		return " — the file DSN names in sslrootcert holds no PEM certificate: give the file of the CA that signed the server's certificate"
	}
	return ""
}

// hbaHint is the hint for a login the server's pg_hba.conf has no entry
// for (or rejects), whose message names the host, user, database and
// encryption of the connection ("no pg_hba.conf entry for host
// "10.0.0.5", user "goquiz", database "feed", no encryption"): the user
// and password are not in question, but the server's pg_hba.conf and, as
// it may take a connection only with TLS or only without, sslmode.
func hbaHint(msg string) string {
	switch {
	case strings.HasSuffix(msg, "no encryption"):
		return " — the server's pg_hba.conf has no entry for this host, user and database without TLS: if the server takes them only over TLS, set sslmode=verify-full (or require) in DSN; otherwise add an entry to pg_hba.conf"
	case strings.HasSuffix(msg, "SSL encryption"):
		return " — the server's pg_hba.conf has no entry for this host, user and database over TLS: add an entry (hostssl) to pg_hba.conf, or, if the server takes them only without TLS, set sslmode=disable in DSN"
	}
	return " — the server's pg_hba.conf does not let this host, user and database in: fix pg_hba.conf, or sslmode in DSN if it takes them only with TLS or only without"
}

// certRefusal returns the hint for a server TLS certificate the client
// did not accept (sslmode=verify-full or verify-ca, or sslrootcert given
// with require): signed by a CA it does not know, for another host name,
// or expired; or "" when err is no such refusal. lib/pq returns crypto's
// errors as they are, under *tls.CertificateVerificationError when the
// handshake verified the certificate (verify-full), bare when lib/pq did
// (verify-ca). Waiting does not change the certificate: it is not retried.
func certRefusal(err error) string {
	const refused = " — the server's TLS certificate was not accepted"
	var (
		unknown  x509.UnknownAuthorityError
		noRoots  x509.SystemRootsError
		host     x509.HostnameError
		invalid  x509.CertificateInvalidError
		verified *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &noRoots):
		return refused + " (signed by a CA this client does not know): give the file of the CA that signed it in sslrootcert in DSN"
	case errors.As(err, &host) && commonNameOnly(host.Certificate, host.Host):
		return refused + " (it names its host only in its Common Name, which Go's TLS no longer reads, unlike libpq): have the server's certificate name its host in a subjectAltName (DNS:host), or use sslmode=verify-ca"
	case errors.As(err, &host):
		return refused + " (it is not for the host name DSN connects to): connect by a host name the certificate holds, or have the server's certificate name this host"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return refused + " (expired or not yet valid): renew the server's certificate, or check this machine's clock"
	case errors.As(err, &invalid), errors.As(err, &verified):
		return refused + ": check sslrootcert and the host name in DSN against the server's certificate"
	}
	return ""
}
