package postgres

import (
	"context"
	"database/sql"
	"time"
)

// SetFoldCountsEvery sets how often a store opened with
// Options.FoldCounts folds the counts, for the tests of this package, and returns what restores it.
func SetFoldCountsEvery(d time.Duration) (restore func()) {
	old := foldCountsEvery
	foldCountsEvery = d
	return func() { foldCountsEvery = old }
}

// Begin starts a transaction of the store, with the limits the server
// keeps for it (see begin), for the tests of this package.
func (d *DB) Begin(ctx context.Context) (*sql.Tx, error) { return d.begin(ctx, d.db, nil) }

// SetSeenMaxBytes sets how much memory the ids a load read may take before
// they move to the database, and returns what restores it.
func SetSeenMaxBytes(n int) (restore func()) {
	old := seenMaxBytes
	seenMaxBytes = n
	return func() { seenMaxBytes = old }
}

// PrivilegeHint returns what Migrate adds to err (see privilegeHint).
func (d *DB) PrivilegeHint(ctx context.Context, err error) string { return d.privilegeHint(ctx, err) }
