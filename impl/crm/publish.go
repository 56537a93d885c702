package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

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

// answer is what Publish learns from one request.
type answer struct {
	status     int
	retryAfter string
	err        error
}

// Publish sends cust to the CRM. It returns nil when the CRM answered 200 and
// a *common.PublishError for any other answer, a timeout or a transport
// error. When ctx ends before an answer came, it returns an error wrapping
// ctx.Err() instead, which is not a *common.PublishError; the request is
// then abandoned, and may still reach the CRM.
func (c *Client) Publish(ctx context.Context, cust common.Customer) (common.Budget, error) {
	if err := ctx.Err(); err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	// Bound the request by the client's timeout, or ctx's deadline when
	// sooner (the integrator bounds every attempt itself).
	deadline := time.Now().Add(c.timeout)
	dl, ok := ctx.Deadline()
	callerDeadline := ok && dl.Before(deadline)
	if callerDeadline {
		deadline = dl
	}
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(c.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Idempotency-Key", common.IdempotencyKey(cust.ID))
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	req.SetBodyRaw(appendCustomer(make([]byte, 0, encodedSizeHint(cust)), cust))

	// fasthttp cannot abandon a request, so it runs on its own goroutine
	// while this one waits for it or for ctx; it ends by the deadline at
	// the latest. A redirect is returned as it is: a POST must not become
	// a GET to another URL whose 200 would look like a delivery.
	done := make(chan answer, 1)
	go func() {
		resp := fasthttp.AcquireResponse()
		err := c.hc.DoDeadline(req, resp, deadline)
		a := answer{status: resp.StatusCode(), err: err}
		if errors.Is(err, fasthttp.ErrBodyTooLarge) && a.status != 0 {
			a.err = nil // answered; only the body was too long to read
		}
		if a.err == nil && a.status != http.StatusOK {
			a.retryAfter = string(resp.Header.Peek("Retry-After"))
		}
		fasthttp.ReleaseResponse(resp)
		fasthttp.ReleaseRequest(req)
		done <- a
	}()
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, ctx.Err())
	}
	if a.err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, ctxErr)
		}
		if callerDeadline && isTimeout(a.err) {
			// ctx's deadline, a moment before ctx notices it.
			return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, context.DeadlineExceeded)
		}
		return common.Budget{}, transportError(a.err)
	}
	if a.status == http.StatusOK {
		return common.Budget{}, nil
	}
	return common.Budget{}, statusError(a.status, a.retryAfter, time.Now())
}

// statusError describes an answer other than 200, with the wait its
// Retry-After asks for (common.PublishError decides where it counts).
func statusError(status int, retryAfter string, now time.Time) *common.PublishError {
	d, _ := ParseRetryAfter(retryAfter, now)
	return common.StatusError(status, d)
}
