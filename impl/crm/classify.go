package crm

import (
	"context"
	"errors"

	"goquiz/common"
)

// transportError classifies an error of a request that got no answer,
// made for a caller whose context is still live.
func transportError(err error) *common.PublishError {
	if isTimeout(err) {
		return common.TimeoutError(err)
	}
	return common.ConnectionError(err)
}

// isTimeout reports whether err is a deadline being exceeded: the
// request's own, including while it waited for a free connection, or a
// dial's or TLS handshake's.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
