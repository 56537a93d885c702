package common

import (
	"context"
	"time"
)

// Queue is the store's side of delivery. Every integrator process uses its
// own Queue, which claims records under its own identity and lease.
type Queue interface {
	// Claim reserves up to limit due pending records for this integrator
	// under a lease. Records leased by another integrator are skipped
	// until their lease runs out.
	Claim(ctx context.Context, limit int) ([]Delivery, error)
	// Settle records the outcomes of delivery attempts in one
	// transaction: sent records become sent for good; failed ones are
	// scheduled for a retry, or become failed when given up (GiveUp), and
	// their lease is dropped.
	Settle(ctx context.Context, outcomes []Outcome) error
	// Extend renews the lease of the listed records while this
	// integrator still holds them.
	Extend(ctx context.Context, ids []int64) error
	// Release gives back, due at once, every record the store shows as
	// leased by this integrator except those in keep: at shutdown the
	// claims it did not send, after a failed claim whose result was lost
	// the claims it never learnt of.
	Release(ctx context.Context, keep []int64) error
	// NextDue returns how long until the earliest pending record that
	// this integrator does not hold falls due (zero or less: it is due
	// now), and false when there is none.
	NextDue(ctx context.Context) (time.Duration, bool, error)
}
