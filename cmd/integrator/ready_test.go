package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
	"goquiz/internal/faultproxy"
)

// TestMain is main_test.go's: pgtest.Main runs this test too.

func TestReadiness(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()

	check := ready(db, ln)
	// The listener reports its connection just after Listen returns.
	require.Eventually(t, func() bool { return check(ctx) == nil }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, db.Close())
	err = check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database unreachable")
}

// A database that stops answering makes the integrator not ready within
// DB_TIMEOUT.
func TestNotReadyWhenTheDatabaseStopsAnswering(t *testing.T) {
	dsn := pgtest.DSN(t)
	p, proxied := pgtest.Proxy(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, proxied, postgres.Options{ConnectTimeout: 10 * time.Second, Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	ln, err := postgres.Listen(dsn, postgres.Options{ConnectTimeout: 10 * time.Second}, nil)
	require.NoError(t, err)
	defer ln.Close()
	check := ready(db, ln)
	require.Eventually(t, func() bool { return check(ctx) == nil }, 5*time.Second, 10*time.Millisecond)

	p.Freeze()
	p.SetNew(faultproxy.NewHang)
	start := time.Now()
	err = check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database unreachable")
	assert.Less(t, time.Since(start), 2*time.Second)
}
