package crm

import (
	"context"
	"errors"
	"net"

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

// transportError classifies an error of http.Client.Do for a request made
// with reqCtx, whose parent context is still live.
func transportError(err error, reqCtx context.Context) *common.PublishError {
	reason := ReasonConnection
	if isTimeout(err) || reqCtx.Err() != nil {
		reason = ReasonTimeout
	}
	return &common.PublishError{Reason: reason, Err: err}
}

// isTimeout reports whether err is a deadline being exceeded.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
