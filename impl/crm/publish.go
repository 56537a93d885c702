package crm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"goquiz/common"
)

// maxDrain is how much of a response body is read before closing it so
// that its connection can be reused; a longer body costs the connection.
const maxDrain = 64 << 10

// contentTypeJSON is the Content-Type header of every request. It is
// shared by all requests, which only read it.
var contentTypeJSON = []string{"application/json"}

// Publish sends cust to the CRM. It returns nil when the CRM answered 200 and
// a *common.PublishError for any other answer, a timeout or a transport
// error. When ctx ends before an answer came, it returns an error wrapping
// ctx.Err() instead, which is not a *common.PublishError.
func (c *Client) Publish(ctx context.Context, cust common.Customer) error {
	body := appendCustomer(make([]byte, 0, encodedSizeHint(cust)), cust)

	// Bound the request by the client's timeout, unless ctx already ends
	// sooner (the integrator bounds every attempt itself).
	reqCtx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	// The request goes straight to the transport: it returns a redirect as
	// it is (a POST must not become a GET to another URL whose 200 would
	// look like a delivery), and it does none of the per-request work
	// http.Client does for redirects and cookies, which we do not use.
	header := http.Header{
		"Content-Type":    contentTypeJSON,
		"Idempotency-Key": {common.IdempotencyKey(cust.ID)},
	}
	if c.auth != nil {
		header["Authorization"] = c.auth
	}
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           c.url,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
	}).WithContext(reqCtx)

	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("crm: publish customer %d: %w", cust.ID, ctxErr)
		}
		return transportError(err, reqCtx)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()

	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return statusError(resp, time.Now())
}

// statusError describes a response other than 200.
func statusError(resp *http.Response, now time.Time) *common.PublishError {
	e := &common.PublishError{
		Status: resp.StatusCode,
		Reason: "status " + strconv.Itoa(resp.StatusCode),
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			e.RetryAfter = d
		}
	}
	return e
}
