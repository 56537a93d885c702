// Package check is the delivery check of the tools and the compose test:
// what the customers table holds by state (ReadStore, WaitStore) and how a
// run falls short of what it must end with (InStore, InCRM): every record
// stored once and delivered once, none twice. It lives apart from package
// harness, which starts the programs, because it reads the product's
// store and mock CRM, whose own tests start programs through harness.
package check

import (
	"context"
	"fmt"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/impl/postgres"
	"goquiz/internal/harness"
)

// Store is what the customers table holds, by delivery state, as
// `integrator status` counts it.
type Store struct {
	Stored   int64 // rows
	Sent     int64 // accepted by the CRM
	InFlight int64 // pending and held by an integrator's live claim
	Waiting  int64 // pending after a failed attempt, not due yet
	Failed   int64 // given up after the attempts allowed
	Rejected int64 // refused by the CRM for good
}

// Settled tells whether no stored record is pending any more: each was
// sent, rejected or given up.
func (s Store) Settled() bool { return s.Sent+s.Rejected+s.Failed == s.Stored }

// ReadStore counts the table's rows by state in one snapshot, through the
// store's Backlog (which reads counts kept up to date, not the rows).
// Counts that rows inserted by hand left stale are recounted first, as
// integrator status does (postgres.DB.FixCounts): a check must not wait
// for an integrator's next fold.
func ReadStore(ctx context.Context, db *postgres.DB) (Store, error) {
	if _, err := db.FixCounts(ctx); err != nil {
		return Store{}, err
	}
	return readCounts(ctx, db)
}

// readCounts reads the store's counts as they are.
func readCounts(ctx context.Context, db *postgres.DB) (Store, error) {
	b, err := db.Backlog(ctx)
	if err != nil {
		return Store{}, err
	}
	return Store{Stored: b.Total(), Sent: b.Sent, InFlight: b.InFlight, Waiting: b.WaitingRetry, Failed: b.Failed, Rejected: b.Rejected}, nil
}

// WaitStore reads the store every interval until done holds for what it
// holds, and returns that; or the first error, or ctx's when it ends.
// Stale counts are fixed once, before the first read (see ReadStore):
// the reads that follow, as often as every few milliseconds in the
// benchmark, are one statement each.
func WaitStore(ctx context.Context, db *postgres.DB, every time.Duration, done func(Store) bool) (Store, error) {
	if _, err := db.FixCounts(ctx); err != nil {
		return Store{}, err
	}
	for {
		s, err := readCounts(ctx, db)
		if err != nil || done(s) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Want is what a delivery must end with, in the store and in the CRM.
type Want struct {
	Stored    int64 // rows
	Sent      int64 // rows sent
	Rejected  int64 // rows refused for good
	Accepted  int64 // customers the CRM accepted
	Conflicts int64 // answers 409 of the CRM's HubSpot mode
}

// Once is what a delivery of n records ends with when every record is
// stored once and delivered once.
func Once(n int64) Want { return Want{Stored: n, Sent: n, Accepted: n} }

// InStore lists every way the store s falls short of w ("1,999 rows
// sent, want 2,000"); none when it holds what w wants.
func InStore(s Store, w Want) []string {
	var fs []string
	if s.Stored != w.Stored {
		fs = append(fs, fmt.Sprintf("%s rows stored, want %s", harness.Group(s.Stored), harness.Group(w.Stored)))
	}
	if s.Sent != w.Sent {
		fs = append(fs, fmt.Sprintf("%s rows sent, want %s", harness.Group(s.Sent), harness.Group(w.Sent)))
	}
	if s.Rejected != w.Rejected {
		fs = append(fs, fmt.Sprintf("%s rows rejected, want %s", harness.Group(s.Rejected), harness.Group(w.Rejected)))
	}
	return fs
}

// InCRM lists every way the mock CRM's counters st fall short of w,
// duplicates included, which must be none; none when every customer
// reached it once.
func InCRM(st mockcrm.Stats, w Want) []string {
	var fs []string
	if st.Accepted != w.Accepted {
		fs = append(fs, fmt.Sprintf("the CRM accepted %s customers, want %s", harness.Group(st.Accepted), harness.Group(w.Accepted)))
	}
	if st.HubSpot.Conflicts != w.Conflicts {
		fs = append(fs, fmt.Sprintf("the CRM answered %s conflicts (409), want %s", harness.Group(st.HubSpot.Conflicts), harness.Group(w.Conflicts)))
	}
	if st.Duplicates != 0 {
		fs = append(fs, fmt.Sprintf("the CRM saw %s duplicates, want 0", harness.Group(st.Duplicates)))
	}
	return fs
}
