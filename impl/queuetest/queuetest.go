// Package queuetest is the contract of common.Queue: one suite of cases
// that every implementation runs (the PostgreSQL store and the in-memory
// one), so that what the business logic is tested against cannot drift
// from what it runs against. It is River's riverdrivertest, for goquiz.
package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// Store is what the suite needs of a store under test. Each case gets a
// fresh, empty one.
type Store interface {
	// Queue returns the queue of the integrator named owner.
	Queue(owner string) common.Queue
	// Add stores customers, pending, due at due.
	Add(t *testing.T, due time.Time, cs ...common.Customer)
	// Change stores the values of customers as a load in SYNC_MODE=upsert
	// does: other values than the stored ones are the customer's next
	// version, pending and due at once; the same values change nothing.
	Change(t *testing.T, cs ...common.Customer)
	// AddClaim writes a claim of owner on ids whose lease runs out at
	// expires, as another integrator, or a claim whose answer was lost,
	// leaves it.
	AddClaim(t *testing.T, owner string, expires time.Time, ids []int64)
	// Record returns what the store holds of the record id.
	Record(t *testing.T, id int64) Record
	// Claims returns the number of claims in the store.
	Claims(t *testing.T) int
}

// Record is a stored record as the suite checks it.
type Record struct {
	State    common.State
	Attempts int
	// Version is the version of the stored values, from 1.
	Version int
	// Holder is the owner of the claim that lists the record, or "".
	Holder string
	// LastError is the error of its last failed attempt, or "".
	LastError string
	// DueIn is how long until it is due (negative: due already).
	DueIn time.Duration
}

// Run runs every case of the contract against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"ClaimReturnsCustomersAndHoldsThem", testClaimHolds},
		{"ClaimOldestDueFirst", testClaimOldestFirst},
		{"ClaimNothingDue", testClaimNothingDue},
		{"ClaimProbeTakesTheLatestDueOfItsKind", testClaimProbe},
		{"ConcurrentClaimersNeverShare", testConcurrentClaimers},
		{"SettleSentFailedAndGivenUp", testSettle},
		{"RetriesWaitForTheirClaim", testRetriesWaitForTheirClaim},
		{"SettleIsIdempotent", testSettleIdempotent},
		{"RejectedIsFinal", testRejected},
		{"LateRejectAfterTakeover", testLateReject},
		{"LapsedClaimIsTakenOver", testTakeover},
		{"LateSettleAfterTakeover", testLateSettle},
		{"ExtendKeepsTheLease", testExtendKeeps},
		{"ExtendRenewsALapsedClaimNotTakenOver", testExtendLapsedNotTakenOver},
		{"ExtendOnlyWhatIsStillHeld", testExtendOnlyHeld},
		{"ReleaseGivesBackAllButKeep", testRelease},
		{"SweepEndsOrphanClaims", testSweep},
		{"NextDue", testNextDue},
		{"ReleasedRecordsDueEarlierAreClaimedAgain", testReleasedEarlier},
		{"VersionReplacedBeforeSentIsNeverSent", testVersionReplaced},
		{"VersionInFlightFinishesFirst", testVersionInFlight},
		{"ClaimedVersionReplacedIsFound", testVersionClaimedReplaced},
		{"FailedOldVersionLeavesTheNewDue", testVersionInFlightFails},
		{"SentRecordChangedIsSentAgainOnce", testVersionOfSent},
		{"LateOldVersionAfterTakeover", testVersionTakeover},
		{"RateLimitSharedWithPeers", testLimitShared},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// addAndClaim stores customers 1 to n (at most 10), due now, and claims them all as
// the integrator "a" under lease; it returns a's queue and the claim.
func addAndClaim(t *testing.T, s Store, n int64, lease time.Duration) (common.Queue, common.Claim) {
	t.Helper()
	s.Add(t, time.Now(), customers(1, n)...)
	q := s.Queue("a")
	c, err := q.Claim(ctx(t), 10, lease)
	require.NoError(t, err)
	require.Len(t, c.Records, int(n))
	return q, c
}

// ctx returns a context that ends with the test, or after a minute.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// customer returns a customer whose fields derive from id.
func customer(id int64) common.Customer {
	return common.Customer{ID: id, FirstName: "First", LastName: "Last", Email: "c@example.com", Phone: "555", Version: 1}
}

// customers returns customers with ids from..to.
func customers(from, to int64) []common.Customer {
	var out []common.Customer
	for id := from; id <= to; id++ {
		out = append(out, customer(id))
	}
	return out
}

// IDs returns the ids of a claim's records, in order.
func IDs(c common.Claim) []int64 {
	out := make([]int64, len(c.Records))
	for i, d := range c.Records {
		out[i] = d.ID
	}
	return out
}
