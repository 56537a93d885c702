package common

import (
	"log/slog"
	"time"
)

// The defaults of DeliverConfig, taken by its zero fields; the
// integrator's defaults of WORKERS, POLL_INTERVAL, RETRY_DELAY,
// RETRY_MAX_DELAY, REQUEST_TIMEOUT and LEASE.
const (
	DefaultWorkers        = 8
	DefaultPollInterval   = 5 * time.Second
	DefaultRetryDelay     = time.Second
	DefaultRetryMaxDelay  = 5 * time.Minute
	DefaultRequestTimeout = 10 * time.Second
	DefaultLease          = 30 * time.Second
)

// DeliverConfig tunes a Deliverer. Zero values take the defaults noted.
type DeliverConfig struct {
	// Workers is the number of requests in flight at once (default 8).
	// More workers hide more CRM latency; each holds one connection.
	Workers int
	// Batch is the most records claimed at once (default 1000, and at
	// least 2*Workers). Each claim takes about a quarter of a second of
	// work at the rate records are being sent, so that claims keep up
	// with a fast CRM while a slow one does not make one integrator hold
	// records others could send.
	Batch int
	// PollInterval is how often the store is polled when no wake-up comes
	// (default 5s). Wake-ups make it matter only when notifications are
	// lost; a shorter one costs a query per interval.
	PollInterval time.Duration
	// RetryDelay is the delay before the first retry of a record (default
	// 1s); it doubles on every further failure up to RetryMaxDelay (default
	// 5m).
	RetryDelay    time.Duration
	RetryMaxDelay time.Duration
	// RequestTimeout bounds one request (default 10s).
	RequestTimeout time.Duration
	// Lease is how long a claim stays reserved without being renewed
	// (default 30s); the leases of held claims are renewed every Lease/3.
	// It is how long the records of a crashed integrator wait before
	// another takes them over, and how long this one keeps sending the
	// records of a claim it could not renew (then it stops: another may
	// have taken them over).
	Lease time.Duration
	// DownAfter is the number of failures in a row (no answer, or a 5xx)
	// after which the CRM is taken as down and only probed (default 10).
	DownAfter int
	// ProbeMaxInterval caps the wait between probes of a CRM that is down
	// (default 2s).
	ProbeMaxInterval time.Duration
	// Wake delivers a value when new records may be due (a notification,
	// or a reconnect after which notifications may have been lost).
	Wake <-chan struct{}
	// Logger receives the daemon's logs (default slog.Default()).
	Logger *slog.Logger
	// LogInterval is how often a throughput line is logged while records
	// move (default 5s).
	LogInterval time.Duration
	// Observer, if not nil, is told of every attempt, for metrics.
	Observer Observer
	// SettleDelay is the longest an outcome waits for others to be
	// written with it (default 5ms): the window in which a crash can lose
	// the record of a delivery, which is then sent again. Longer batches
	// cost the store less per record. Zero takes the default; a negative
	// value writes at once.
	SettleDelay time.Duration
	// MaxAttempts, when positive, is the number of failed attempts after
	// which a record is given up: it becomes failed with its last error
	// instead of being retried. Zero retries until the CRM accepts it.
	MaxAttempts int
	// GiveUpOn lists the CRM's statuses that refuse a record for good:
	// such an answer ends the record at once as rejected, with the status
	// and the start of the answer as its reason, whatever MaxAttempts
	// says. Empty (the default): every failure is retried.
	GiveUpOn []int
	// MaxRate caps request starts, in requests per second across all
	// workers (0: no cap); below it the rate adapts to the CRM's answers
	// (see Pacer). A CRM that never throttles is not slowed at all.
	MaxRate float64
	// FixedRate switches the adaptive rate off (default false: the rate
	// adapts). Only MaxRate and each record's Retry-After pace requests
	// then: for an operator who knows the CRM's limit and sets MaxRate to
	// it, the law has nothing to find.
	FixedRate bool
}

// QuotaObserver, when the Observer is one too, is told of a quota pause:
// a throttle or a spent budget asked for QuotaWait or longer, and no
// request starts before until. Quota is called with answers and must be
// quick.
type QuotaObserver interface{ Quota(until time.Time) }

// Observer is told what a Deliverer does. Its methods are called
// concurrently and must be quick.
type Observer interface {
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

// RejectObserver, when an Observer implements it too, is told of the
// records rejected for good (see DeliverConfig.GiveUpOn).
type RejectObserver interface {
	// Rejected reports n records rejected with the CRM's status, once
	// their state is written.
	Rejected(status, n int)
}

func (c *DeliverConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Batch <= 0 {
		c.Batch = 1000
	}
	c.Batch = max(c.Batch, 2*c.Workers)
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.RetryMaxDelay < c.RetryDelay {
		c.RetryMaxDelay = max(DefaultRetryMaxDelay, c.RetryDelay)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.DownAfter <= 0 {
		c.DownAfter = 10
	}
	if c.ProbeMaxInterval <= 0 {
		c.ProbeMaxInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SettleDelay == 0 {
		c.SettleDelay = 5 * time.Millisecond
	}
	c.SettleDelay = max(c.SettleDelay, 0)
	if c.LogInterval <= 0 {
		c.LogInterval = 5 * time.Second
	}
}
