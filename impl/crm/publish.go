package crm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

// Header values of every request.
var (
	headerJSON      = []string{"application/json"}
	headerUserAgent = []string{userAgent}
)

// maxRefusal is the most of a refusal's answer body kept as its reason.
const maxRefusal = 512

// Publish sends cust to the CRM. It returns a nil error when the CRM
// answered a success status (200 unless Options.Success says otherwise)
// and a *common.PublishError for any other answer, with the start of the
// answer's body, a timeout or a transport error, with the budget the
// answer announced (zero when none, or no answer). When ctx ends before
// an answer came, the error wraps ctx.Err() instead, and is not a
// *common.PublishError; the request is then abandoned at once, and may
// still reach the CRM.
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
	var body []byte
	var err error
	if c.body != nil {
		body, err = c.body.render(cust)
	} else {
		body, err = encode(cust)
	}
	if err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	req, err := http.NewRequestWithContext(rctx, c.method, c.endpoint.of(cust), bytes.NewReader(body))
	if err != nil {
		return common.Budget{}, fmt.Errorf("crm: publish customer %d: %w", cust.ID, err)
	}
	req.Header = make(http.Header, len(c.header)+1)
	maps.Copy(req.Header, c.header) // values shared, never changed
	if c.keyHeader != "" {
		req.Header[c.keyHeader] = []string{cust.IdempotencyKey()}
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
	// can carry the next request, or closed with it when too long. Of a
	// refusal, its start is kept: the CRM's reason.
	ok := slices.Contains(c.success, resp.StatusCode)
	var start []byte
	if !ok {
		start = make([]byte, maxRefusal)
		n, _ := io.ReadFull(resp.Body, start)
		start = start[:n]
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxBody-int64(len(start)))
	_ = resp.Body.Close()
	if ok {
		return budget, nil
	}
	// The wait Retry-After asks for, whatever the status:
	// common.PublishError decides where it counts.
	wait, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	pe := common.StatusError(resp.StatusCode, wait)
	pe.Body = oneLine(start)
	return budget, pe
}

// oneLine returns the start of an answer's body as one line of valid
// UTF-8: runs of white space become one space, a character cut at the
// end is dropped.
func oneLine(b []byte) string {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i] // a character the cut split is not the CRM's mistake
			}
			break
		}
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
}
