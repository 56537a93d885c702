package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

// TestMain is main_test.go's: pgtest.Main runs this test too.

func TestReadiness(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, postgres.Options{Wait: 10 * time.Second})
	require.NoError(t, err)
	ln, err := postgres.Listen(dsn, postgres.Options{Wait: 10 * time.Second}, nil)
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
