package common

import "time"

// Backlog is how far delivery is: how many stored records are in each
// delivery state, and how long the oldest undelivered one has waited.
type Backlog struct {
	// Pending counts the pending records due now or never tried, held by
	// no integrator.
	Pending int64
	// InFlight counts the pending records an integrator holds under a
	// live lease: being sent, or about to be.
	InFlight int64
	// WaitingRetry counts the pending records that failed before and wait
	// for their next attempt.
	WaitingRetry int64
	// Sent counts the records the CRM accepted.
	Sent int64
	// Failed counts the records given up after MaxAttempts.
	Failed int64
	// NewerVersion counts the pending records waiting to be sent with a
	// newer version of their values (a load in SYNC_MODE=upsert changed
	// them): a part of Pending, InFlight and WaitingRetry, not a state of
	// its own.
	NewerVersion int64
	// Rejected counts the records the CRM refused for good (GiveUpOn):
	// done with, neither sent nor undelivered.
	Rejected int64
	// OldestUndelivered is the age of the oldest record not sent yet
	// (pending or failed), or zero when there is none.
	OldestUndelivered time.Duration
}

// Undelivered returns the number of records not sent yet.
func (b Backlog) Undelivered() int64 {
	return b.Pending + b.InFlight + b.WaitingRetry + b.Failed
}

// Total returns the number of stored records.
func (b Backlog) Total() int64 { return b.Undelivered() + b.Sent + b.Rejected }

// ErrorCount is one distinct last error of undelivered records, with the
// number of records whose last attempt failed with it.
type ErrorCount struct {
	Error   string
	Records int64
}
