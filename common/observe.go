package common

import "time"

// DeliveryObserver is told what delivery does, for metrics. Its methods
// are called concurrently and must be quick. It may implement
// RejectObserver, QuotaObserver and PaceObserver too, to be told more.
type DeliveryObserver interface {
	// Attempt reports one request: its duration and its failure (nil
	// when delivered).
	Attempt(d time.Duration, failure *PublishError)
	// CRMDown reports the CRM going down or coming back.
	CRMDown(down bool)
	// Settled reports a batch of outcomes written to the store: sent
	// records delivered for good, failed attempts scheduled for a retry
	// or given up.
	Settled(sent, failed int)
}

// RejectObserver, when a DeliveryObserver implements it too, is told of
// the records rejected for good (see deliver.Config.GiveUpOn).
type RejectObserver interface {
	// Rejected reports n records rejected with the CRM's status, once
	// their state is written.
	Rejected(status, n int)
}

// QuotaObserver, when a DeliveryObserver implements it too, is told of a
// quota pause: a throttle or a spent budget asked for a minute or more
// (see package pace), and no request starts before until. Quota is called
// with answers and must be quick.
type QuotaObserver interface{ Quota(until time.Time) }

// PaceObserver, when a DeliveryObserver implements it too, is told the
// limits in force on requests to the CRM: requests per second (0: none)
// and in flight. Pace is called with answers, and must be quick.
type PaceObserver interface {
	Pace(ratePerSecond float64, inFlight int)
}
