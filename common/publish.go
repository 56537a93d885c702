package common

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Publisher delivers one customer to the CRM.
type Publisher interface {
	// Publish sends c. A nil error means the CRM accepted it (HTTP 200,
	// or another status the Publisher takes as success); a failed attempt is reported as a *PublishError. When ctx ends
	// before an answer came, the error wraps ctx.Err(). The Budget is
	// what the CRM announced of its request budget with its answer,
	// accepted or not; its zero value means it announced none.
	Publish(ctx context.Context, c Customer) (Budget, error)
}

// Budget is the request budget a CRM announced with an answer (the
// RateLimit header fields, or X-RateLimit-Remaining and -Reset): how many
// more requests it allows before the budget is renewed, and when.
type Budget struct {
	// Known is true when the CRM announced a budget with this answer.
	Known bool
	// Remaining is the number of requests left until Reset.
	Remaining int
	// Reset is how long until the budget is renewed.
	Reset time.Duration
}

// The HTTP statuses whose Retry-After asks for a wait (common imports no
// HTTP package).
const (
	statusTooManyRequests = 429
	statusUnavailable     = 503
)

// FailureKind says how a delivery attempt failed.
type FailureKind uint8

// The kinds of failed attempts.
const (
	// FailOther is a failure the Publisher did not classify.
	FailOther FailureKind = iota
	// FailStatus is an answer with a status other than success.
	FailStatus
	// FailTimeout is a request that got no answer in time.
	FailTimeout
	// FailConnection is a request that got no answer for another reason:
	// connection refused or reset, early EOF, TLS or DNS failure.
	FailConnection
)

// PublishError is a failed delivery attempt. It is the one place that
// says what a failure means: the reason written to the store and the
// logs, the metrics label, whether it points at the CRM being down, and
// whether the CRM asked the client to slow down and for how long.
type PublishError struct {
	// Kind is how the attempt failed.
	Kind FailureKind
	// Status is the CRM's HTTP status, or 0 when no answer came.
	Status int
	// RetryAfter is the wait the CRM's Retry-After asked for, or 0. It is
	// honoured (Wait) on the statuses that define it, 429 and 503.
	RetryAfter time.Duration
	// Body is the start of the CRM's answer, on one line, or "": the
	// reason a rejected record keeps (see Refusal).
	Body string
	// Err is the underlying error, if any.
	Err error
}

// StatusError returns the failure of an answer with status other than
// 200, with the wait its Retry-After header asked for (0 when none).
func StatusError(status int, retryAfter time.Duration) *PublishError {
	return &PublishError{Kind: FailStatus, Status: status, RetryAfter: retryAfter}
}

// TimeoutError returns the failure of a request that got no answer in
// time.
func TimeoutError(err error) *PublishError {
	return &PublishError{Kind: FailTimeout, Err: err}
}

// ConnectionError returns the failure of a request that got no answer
// for a reason other than time.
func ConnectionError(err error) *PublishError {
	return &PublishError{Kind: FailConnection, Err: err}
}

// NoAnswerError returns the failure of a request that got no answer: a
// timeout when err is a deadline that ran out (a context's, or one of an
// error whose Timeout method says so: a dial's, a TLS handshake's), a
// connection failure otherwise.
func NoAnswerError(err error) *PublishError {
	if isDeadline(err) {
		return TimeoutError(err)
	}
	return ConnectionError(err)
}

// isDeadline reports whether err is a deadline that ran out.
func isDeadline(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// AsPublishError classifies an error a Publisher returned: a
// *PublishError (wrapped or not) as it is, a deadline that ran out as a
// timeout, anything else as FailOther. It returns nil for nil.
func AsPublishError(err error) *PublishError {
	if err == nil {
		return nil
	}
	var pe *PublishError
	if errors.As(err, &pe) {
		return pe
	}
	if isDeadline(err) {
		return TimeoutError(err)
	}
	return &PublishError{Kind: FailOther, Err: err}
}

// Reason returns the failure's short description for the store and the
// logs: "status 500", "timeout", "connection", or "other".
func (e *PublishError) Reason() string {
	switch e.Kind {
	case FailStatus:
		return "status " + strconv.Itoa(e.Status)
	case FailTimeout:
		return "timeout"
	case FailConnection:
		return "connection"
	}
	return "other"
}

// Refusal returns the reason a record the CRM refused for good keeps:
// the reason followed by the start of the CRM's answer, as in
// `status 400: {"status":"error",…}`.
func (e *PublishError) Refusal() string {
	if e.Body == "" {
		return e.Reason()
	}
	return e.Reason() + ": " + e.Body
}

// Label returns the failure's metrics label: "status_500", "timeout",
// "connection" or "other".
func (e *PublishError) Label() string {
	if e.Kind == FailStatus {
		return "status_" + strconv.Itoa(e.Status)
	}
	return e.Reason()
}

// Outage tells whether the failure points at the CRM being down or
// overloaded (no answer, or a 5xx) rather than at the record: a 4xx
// answer, 429 included, proves the CRM is up.
func (e *PublishError) Outage() bool {
	return e.Kind != FailStatus || e.Status >= 500
}

// Wait returns how long the CRM asked this record to wait before it is
// sent again: its Retry-After on a 429 or a 503, otherwise 0.
func (e *PublishError) Wait() time.Duration {
	if e.Status == statusTooManyRequests || e.Status == statusUnavailable {
		return e.RetryAfter
	}
	return 0
}

// QuotaWait and QuotaMax bound the waits that make an answer a quota
// rather than a rate: a throttle whose Retry-After asks for QuotaWait to
// QuotaMax, or a budget spent until QuotaWait or more ahead, pauses every
// request to the CRM until then (the pacer's quota pause).
const (
	QuotaWait = time.Minute
	QuotaMax  = 24 * time.Hour
)

// Quota tells whether the failure is a throttle that asks for a quota's
// wait (see QuotaWait): every request waits, not this record alone.
func (e *PublishError) Quota() bool {
	return e != nil && e.Throttled() && e.Wait() >= QuotaWait && e.Wait() <= QuotaMax
}

// Throttled tells whether the CRM asked the client to send less: a 429,
// or a 503 with a Retry-After.
func (e *PublishError) Throttled() bool {
	return e.Status == statusTooManyRequests ||
		(e.Status == statusUnavailable && e.RetryAfter > 0)
}

// Error returns the reason, followed by the underlying error when there
// is one.
func (e *PublishError) Error() string {
	if e.Err == nil {
		return e.Reason()
	}
	if e.Kind == FailOther {
		return e.Err.Error()
	}
	return e.Reason() + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PublishError) Unwrap() error { return e.Err }
