package common

import (
	"context"
	"time"
)

// Claim is a batch of due records that one integrator reserved under a
// lease: until the claim ends (settled, released, or taken over after its
// lease ran out), no other integrator claims its records.
type Claim struct {
	// ID names the claim in the store; 0 for an empty claim (nothing was
	// due).
	ID int64
	// Records are the records claimed, oldest due first.
	Records []ClaimedRecord
	// Expires is the earliest moment, by this process's clock, at which
	// the lease may run out at the store: the lease measured from before
	// the claim was sent. Another integrator may take the records over
	// after it, unless the lease was extended.
	Expires time.Time
}

// Queue is the store's side of delivery. Every integrator process uses its
// own Queue, which claims under the integrator's own name. A Queue keeps
// no record of what it handed out: the Deliverer owns its claims, and the
// store is the truth for everyone.
type Queue interface {
	// Claim reserves up to limit due pending records that no live claim
	// lists, oldest due first, as one claim under a lease of the given
	// length. Before it picks records, it ends the claims of other
	// integrators whose lease ran out, which makes their records
	// claimable again: that is how a crashed integrator's work is taken
	// over.
	Claim(ctx context.Context, limit int, lease time.Duration) (Claim, error)
	// Settle records the outcomes of delivery attempts and ends the
	// claims in finished (every record of which has an outcome, or was
	// never sent), in one transaction. A sent record becomes sent for
	// good, whoever holds it now: the CRM has it. A failed one is
	// scheduled for a retry (or becomes failed, when given up) only while
	// the claim it came in is still this integrator's.
	Settle(ctx context.Context, outcomes []Outcome, finished []int64) error
	// Extend renews the leases of the listed claims, for the given length
	// from now, as long as they are still this integrator's, and returns
	// the ids of the claims it renewed. A claim that another integrator
	// took over after its lease ran out is gone, and stays gone.
	Extend(ctx context.Context, claims []int64, lease time.Duration) ([]int64, error)
	// Release gives back, claimable at once, the records of the listed
	// claims of this integrator except those in keep: a claim left with
	// none of keep ends, the others shrink to their records in keep
	// (records whose outcome could not be recorded: they may have been
	// delivered, so they stay reserved until the lease runs out).
	Release(ctx context.Context, claims []int64, keep []int64) error
	// Sweep ends every claim of this integrator that is not in held: a
	// claim whose answer was lost (the connection died after it
	// committed), which the integrator never learnt of.
	Sweep(ctx context.Context, held []int64) error
	// NextDue returns how long until a record this integrator could claim
	// falls due (zero or less: it is due now): the earliest pending record
	// that no claim lists, or the end of the earliest lease of another
	// integrator's claim. It returns false when there is neither.
	NextDue(ctx context.Context) (time.Duration, bool, error)
}

// QuotaNoter is a Queue that records a quota pause, so that others (an
// operator's `integrator status`) see it: no request is sent to the CRM
// before until, the latest such time announced.
type QuotaNoter interface {
	// NoteQuota records that no request is to be sent to the CRM before
	// until; of several times noted, by any integrator, the latest is
	// kept.
	NoteQuota(ctx context.Context, until time.Time) error
	// QuotaPause returns the end of the quota pause in force, noted by
	// any integrator; zero when none is. An integrator that starts reads
	// it, so that a restart spends no request before the quota's reset.
	QuotaPause(ctx context.Context) (time.Time, error)
}

// LimitSharer is a Queue through which the integrators of one store tell
// each other that their pacing found the CRM's rate limit. Integrators
// that share a limit each see refusals that do not fall when one of them
// alone slows down, as the others take what it leaves: testing alone, it
// would take them for noise (the refusals of a CRM failing at random
// whatever the rate) and stop pacing, and refusals would rise for all.
// While a peer has found the limit, the pacing law takes such refusals
// as the limit's, and with the rates the peers noted, it knows the fair
// share of each (see package pace).
type LimitSharer interface {
	// NoteLimit records that this integrator's pacing found a rate limit
	// of the CRM, in force for its peers for d from now, by the store's
	// clock (it is noted again before then while the limit holds), and
	// the rate at which the CRM takes this integrator's requests, per
	// second (the latest note counts); d of 0 or less withdraws it.
	NoteLimit(ctx context.Context, d time.Duration, rate float64) error
	// PeerLimits returns the rates that the other integrators whose
	// noted limit is in force now noted with it, one per integrator;
	// none when no peer's limit is in force.
	PeerLimits(ctx context.Context) ([]float64, error)
}

// VersionChecker is a Queue that tells which claimed records were
// replaced by a newer version since they were claimed (a load in
// SYNC_MODE=upsert changed them). The Deliverer asks it about the records
// it holds and has not started sending, when a load announces records and
// every PollInterval, and gives back those replaced unsent: a version
// replaced before its request started is never sent, only the newest goes
// (one whose request started is finished first).
type VersionChecker interface {
	// Replaced returns, of the records listed (ids[i] claimed in
	// versions[i]), the ids of those whose stored version is newer.
	Replaced(ctx context.Context, ids []int64, versions []int) ([]int64, error)
}

// ProbeWindow is how many of the latest due records a ProbeClaimer looks
// among for a probe's record: enough to reach past a run of records that
// fail whatever the CRM's health, few enough to cost one short index scan.
const ProbeWindow = 1000

// ProbeClaimer is a Queue that claims the record of a probe: the request
// that asks a CRM that looks down whether it is back. A probe sent with
// the next record in line would go on asking with the very records that
// keep failing when they, not the CRM, are the trouble (a run of them at
// the head of the queue) and with never-tried records when it is retries
// the CRM takes; a probe's record is taken from the other end of the
// queue instead, of the kind asked for.
type ProbeClaimer interface {
	// ClaimProbe reserves, as a claim of its own under a lease of the
	// given length, one due pending record that no claim lists, among
	// the ProbeWindow latest due ones: the latest due that failed before
	// when tried is true, the latest due never tried when it is false.
	// The claim is empty when there is no such record.
	ClaimProbe(ctx context.Context, tried bool, lease time.Duration) (Claim, error)
}
