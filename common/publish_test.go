package common

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPublishErrorClassifiesEveryFailureInOnePlace(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		reason    string
		label     string
		text      string
		outage    bool
		throttled bool
		wait      time.Duration
	}{
		{"500", StatusError(500, 0), "status 500", "status_500", "status 500", true, false, 0},
		{"500 with Retry-After waits for nothing", StatusError(500, 7*time.Second), "status 500", "status_500", "status 500", true, false, 0},
		{"429", StatusError(429, 0), "status 429", "status_429", "status 429", false, true, 0},
		{"429 with Retry-After", StatusError(429, 3*time.Second), "status 429", "status_429", "status 429", false, true, 3 * time.Second},
		{"503 without Retry-After is an outage, not a throttle", StatusError(503, 0), "status 503", "status_503", "status 503", true, false, 0},
		{"503 with Retry-After", StatusError(503, time.Second), "status 503", "status_503", "status 503", true, true, time.Second},
		{"400", StatusError(400, 0), "status 400", "status_400", "status 400", false, false, 0},
		{"timeout", TimeoutError(errors.New("i/o timeout")), "timeout", "timeout", "timeout: i/o timeout", true, false, 0},
		{"connection", ConnectionError(errors.New("refused")), "connection", "connection", "connection: refused", true, false, 0},
		{"no answer, a deadline", NoAnswerError(fmt.Errorf("dial: %w", context.DeadlineExceeded)), "timeout", "timeout", "timeout: dial: context deadline exceeded", true, false, 0},
		{"no answer, a timeout", NoAnswerError(&net.DNSError{Err: "lookup", Name: "crm", IsTimeout: true}), "timeout", "timeout", "timeout: lookup crm: lookup", true, false, 0},
		{"no answer, refused", NoAnswerError(errors.New("connect: connection refused")), "connection", "connection", "connection: connect: connection refused", true, false, 0},
		{"wrapped", fmt.Errorf("publish: %w", StatusError(429, time.Second)), "status 429", "status_429", "status 429", false, true, time.Second},
		{"bare deadline", fmt.Errorf("publish: %w", context.DeadlineExceeded), "timeout", "timeout", "timeout: publish: context deadline exceeded", true, false, 0},
		{"unclassified", errors.New("boom"), "other", "other", "boom", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := AsPublishError(tt.err)
			assert.Equal(t, tt.reason, pe.Reason())
			assert.Equal(t, tt.label, pe.Label())
			assert.Equal(t, tt.text, pe.Error())
			assert.Equal(t, tt.outage, pe.Outage())
			assert.Equal(t, tt.throttled, pe.Throttled())
			assert.Equal(t, tt.wait, pe.Wait())
		})
	}
	assert.Nil(t, AsPublishError(nil))
}
