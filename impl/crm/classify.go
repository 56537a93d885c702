package crm

import (
	"context"
	"errors"

	"goquiz/common"
)

// Reasons of failed deliveries that got no answer.
const (
	// ReasonTimeout is the reason of a request that ran out of time.
	ReasonTimeout = "timeout"
	// ReasonConnection is the reason of a request that failed for any
	// other transport error: connection refused or reset, early EOF, TLS
	// or DNS failure.
	ReasonConnection = "connection"
)

// transportError classifies an error of a request that got no answer,
// made for a caller whose context is still live.
func transportError(err error) *common.PublishError {
	reason := ReasonConnection
	if isTimeout(err) {
		reason = ReasonTimeout
	}
	return &common.PublishError{Reason: reason, Err: err}
}

// isTimeout reports whether err is a deadline being exceeded, including
// fasthttp's ErrTimeout (also what a request gets that found no free
// connection before its deadline).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
