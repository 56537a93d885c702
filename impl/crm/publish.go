package crm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"goquiz/common"
)

// maxBody is the longest answer body read; a longer one closes its
// connection, and its status still counts.
const maxBody = 64 << 10

// maxHeader is the longest answer header read; a longer one is a failed
// attempt.
const maxHeader = 64 << 10

// userAgent is the User-Agent header of every request.
const userAgent = "goquiz"

// Header values shared by every request.
var (
	headerJSON      = []string{"application/json"}
	headerUserAgent = []string{userAgent}
)

// Publish sends cust to the CRM. It returns a nil error when the CRM
// answered 200 and a *common.PublishError for any other answer, a timeout
// or a transport error, with the budget the answer announced (zero when
// none, or no answer). When ctx ends before an answer came, the error wraps
// ctx.Err() instead, and is not a *common.PublishError; the request is
// then abandoned at once, and may still reach the CRM.
func (c *Client) Publish(ctx context.Context, cust common.Customer) (common.Budget, error) {
	if err := ctx.Err(); err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	// Bound the request by the client's timeout, unless ctx's deadline is
	// sooner (the integrator bounds every attempt itself).
	rctx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	body, err := encode(cust)
	if err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	req.Header = http.Header{
		"Content-Type":    headerJSON,
		"User-Agent":      headerUserAgent,
		"Idempotency-Key": {cust.IdempotencyKey()},
	}
	if c.auth != nil {
		req.Header["Authorization"] = c.auth
	}
	// RoundTrip, not http.Client.Do: a redirect is returned as it is, a
	// failed attempt. A POST must not become a GET to another URL whose
	// 200 would look like a delivery.
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, ctxErr)
		}
		return common.Budget{}, common.NoAnswerError(err)
	}
	now := time.Now()
	budget := parseBudget(resp.Header, now)
	// The status is the answer; the body is read so that the connection
	// can carry the next request, or closed with it when too long.
	_, _ = io.CopyN(io.Discard, resp.Body, maxBody)
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return budget, nil
	}
	// The wait Retry-After asks for, whatever the status:
	// common.PublishError decides where it counts.
	wait, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	return budget, common.StatusError(resp.StatusCode, wait)
}
