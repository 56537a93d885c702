package check

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/impl/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestReadStoreAfterRowsByHand: rows inserted by hand are not counted (the
// counts are marked stale), their delete is; the check must read the
// table as it is, not wait for an integrator's fold (the demo's -reset
// stopped one record early before).
func TestReadStoreAfterRowsByHand(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	byHand(t, db)
	raw, err := readCounts(ctx, db)
	require.NoError(t, err)
	require.Equal(t, int64(-1), raw.Stored, "the counts as they are: the delete counted, the insert not")

	got, err := ReadStore(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, Store{}, got)

	byHand(t, db)
	waited, err := WaitStore(ctx, db, time.Millisecond, func(Store) bool { return true })
	require.NoError(t, err)
	assert.Equal(t, Store{}, waited)
}

// byHand inserts a row and deletes it by hand, which leaves the counts one
// short until they are recounted.
func byHand(t *testing.T, db *postgres.DB) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (7, 'a', 'b', 'a@b.example', '1')`,
		`DELETE FROM customers`,
	} {
		_, err := db.SQL().ExecContext(context.Background(), q)
		require.NoError(t, err)
	}
}
