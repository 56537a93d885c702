package common

import (
	"strconv"
	"time"
)

// Customer is one customer record as read from a CSV file, stored in
// PostgreSQL and delivered to the CRM. Values are kept exactly as read: an
// empty field is the empty string.
type Customer struct {
	ID        int64
	FirstName string
	LastName  string
	Email     string
	Phone     string
	// Version is which stored version of the customer's values these
	// are, counted from 1: a load in SYNC_MODE=upsert that finds other
	// values for a stored id stores them as the next version. 0 (a
	// customer read from a file, not stored yet) is taken as 1.
	Version int
}

// IdempotencyKey returns the key sent with every delivery attempt of this
// version of the customer. It depends only on the id and the version, so
// it is the same on every attempt of a version, after a crash and from any
// integrator, and differs between customers and between versions.
func (c Customer) IdempotencyKey() string {
	return VersionKey(c.ID, c.Version)
}

// SameValues tells whether c and o hold the same five values, whatever
// their versions.
func (c Customer) SameValues(o Customer) bool {
	return c.ID == o.ID && c.FirstName == o.FirstName && c.LastName == o.LastName &&
		c.Email == o.Email && c.Phone == o.Phone
}

// IdempotencyKey returns the delivery idempotency key of the first version
// of the customer id: goquiz-customer-<id>.
func IdempotencyKey(id int64) string {
	return "goquiz-customer-" + strconv.FormatInt(id, 10)
}

// VersionKey returns the delivery idempotency key of a version of the
// customer id: IdempotencyKey(id) for the first (version 0 or 1), and
// goquiz-customer-<id>-v<version> for the later ones.
func VersionKey(id int64, version int) string {
	if version <= 1 {
		return IdempotencyKey(id)
	}
	return IdempotencyKey(id) + "-v" + strconv.Itoa(version)
}

// State is the delivery state of a stored customer, as kept in the store.
type State string

// The delivery states. A record is pending from the moment it is stored
// until the CRM has answered 200 for it; it is then sent, for good, until a
// load in SYNC_MODE=upsert stores a new version of its values, which makes
// it pending again. While an
// integrator holds a pending record it carries a lease; while it waits for a
// retry it carries the time of its next attempt. A record whose attempts
// reached deliver.Config.MaxAttempts (when set) is failed, with its last
// error, until an operator puts it back to pending. A record the CRM
// refused with a status of deliver.Config.GiveUpOn is rejected at once, with
// the status and the start of the CRM's answer as its last error, until an
// operator puts it back to pending.
const (
	StatePending  State = "pending"
	StateSent     State = "sent"
	StateFailed   State = "failed"
	StateRejected State = "rejected"
)

// ClaimedRecord is one record of a Claim: a pending customer an integrator
// holds to send, with what the store knows of its earlier attempts.
type ClaimedRecord struct {
	Customer
	// Attempts is how many delivery attempts failed before this claim.
	Attempts int
}

// Outcome is the result of one delivery attempt, handed back to the store.
type Outcome struct {
	ID int64
	// Version is the version of the record that was sent: an outcome
	// counts for that version only (a newer one stored meanwhile is
	// sent next).
	Version int
	// Claim is the claim the record was sent from.
	Claim int64
	// Sent is true when the CRM answered 200.
	Sent bool
	// RetryIn is the delay before the next attempt when Sent is false.
	RetryIn time.Duration
	// Err describes the failure when Sent is false.
	Err string
	// GiveUp is true when Sent is false and the record reached its
	// maximum number of attempts: it becomes failed instead of being
	// retried.
	GiveUp bool
	// Reject is true when Sent is false and the CRM refused the record
	// for good (a status of deliver.Config.GiveUpOn): it becomes rejected
	// at once, with Err as its reason.
	Reject bool
	// Status is the CRM's HTTP status of a rejected record.
	Status int
}
