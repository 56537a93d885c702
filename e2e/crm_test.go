package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// faults is what the CRM double does wrong. Each request draws one fate:
// hang, 429, 500 or accepted, with the probabilities given, after a delay
// of Latency plus up to Jitter. Unavailable answers every request 503.
type faults struct {
	// FailRate is the share of requests answered 500 (not accepted).
	FailRate float64
	// LimitRate is the share answered 429 with Retry-After: RetryAfter
	// seconds (not accepted).
	LimitRate  float64
	RetryAfter int
	// HangRate is the share never answered: held until the client gives up
	// (not accepted).
	HangRate float64
	// Latency and Jitter delay every answer by Latency plus a random
	// duration up to Jitter.
	Latency, Jitter time.Duration
	// Unavailable answers every request 503 with Retry-After: RetryAfter
	// seconds (when positive), as a CRM in maintenance.
	Unavailable bool
	// Upstream, when set, passes every valid request to this URL and
	// answers as it answered (see forward), recording it as any other.
	Upstream string
	// HoldKey, when set, holds the requests with this Idempotency-Key
	// until Release is closed (or the client gives up), then answers
	// them as any other.
	HoldKey string
	Release <-chan struct{}
	// RefuseKey, when set, answers every request with this
	// Idempotency-Key RefuseStatus (not accepted).
	RefuseKey    string
	RefuseStatus int
}

// attempt is one request for a customer, as the double saw it.
type attempt struct {
	at       time.Time // arrival
	answered time.Time // when it was answered; zero for a hang
	status   int       // 0 for a hang
	// retryAfter is the Retry-After the answer carried, or 0.
	retryAfter time.Duration
	key        string
}

// crmDouble is the CRM's test double. It checks every request (method,
// path, headers, a JSON body with exactly the five fields), records every
// attempt per customer id with its time, status and Idempotency-Key, and
// answers 200 to a key it accepted before, counting the repeat as a
// duplicate. It listens on a fixed loopback port that it can stop and
// start again, for outages with the connection refused.
type crmDouble struct {
	addr string

	mu       sync.Mutex
	f        faults
	rng      *rand.Rand
	requests int
	byStatus map[int]int
	attempts map[int64][]attempt
	// accepted holds the keys of the accepted requests of each id, and
	// bodies the customer of its first acceptance.
	accepted map[int64][]string
	bodies   map[int64]common.Customer
	// lastBody holds the customer of the last acceptance of each id.
	lastBody map[int64]common.Customer
	first    time.Time // arrival of the first request
	bad      []string  // malformed requests
	srv      *http.Server
	stopped  chan struct{} // closed by close: hanging requests end
	// shaped makes the double expect requests shaped by a template (see
	// shaped_test.go) instead of goquiz's own.
	shaped bool
}

// newCRM starts the double on a free loopback port; it is closed when the
// test ends.
func newCRM(t *testing.T, f faults, seed uint64) *crmDouble {
	t.Helper()
	d := &crmDouble{
		f:        f,
		rng:      rand.New(rand.NewPCG(seed, 0x2545F4914F6CDD1D)),
		byStatus: map[int]int{},
		attempts: map[int64][]attempt{},
		accepted: map[int64][]string{},
		bodies:   map[int64]common.Customer{},
		lastBody: map[int64]common.Customer{},
		stopped:  make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	d.addr = ln.Addr().String()
	d.serve(ln)
	t.Cleanup(d.close)
	return d
}

// URL is the endpoint the integrators POST to.
func (d *crmDouble) URL() string { return "http://" + d.addr + "/customers" }

func (d *crmDouble) serve(ln net.Listener) {
	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	d.mu.Lock()
	d.srv = srv
	d.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stopListening closes the listener, so that connections are refused, and
// waits for the requests in progress to be answered: none is accepted
// without its answer reaching the client.
func (d *crmDouble) stopListening(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	srv := d.srv
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
}

// startListening listens again on the same port.
func (d *crmDouble) startListening(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", d.addr)
	require.NoError(t, err, "listen again on %s", d.addr)
	d.serve(ln)
}

func (d *crmDouble) close() {
	d.mu.Lock()
	srv := d.srv
	select {
	case <-d.stopped:
	default:
		close(d.stopped)
	}
	d.mu.Unlock()
	_ = srv.Close()
}

// setFaults changes the faults from now on.
func (d *crmDouble) setFaults(f faults) {
	d.mu.Lock()
	d.f = f
	d.mu.Unlock()
}

// customerBody is the body the CRM expects: exactly these five fields.
type customerBody struct {
	ID        *int64  `json:"id"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Email     *string `json:"email"`
	Phone     *string `json:"phone"`
}

// decode checks a request and returns its customer.
func decode(r *http.Request, body []byte) (common.Customer, error) {
	switch {
	case r.Method != http.MethodPost:
		return common.Customer{}, fmt.Errorf("method %s", r.Method)
	case r.URL.Path != "/customers":
		return common.Customer{}, fmt.Errorf("path %s", r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		return common.Customer{}, fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
	case r.Header.Get("Idempotency-Key") == "":
		return common.Customer{}, errors.New("no Idempotency-Key")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return common.Customer{}, fmt.Errorf("body %q: %v", body, err)
	}
	if len(fields) != 5 {
		return common.Customer{}, fmt.Errorf("body %q: %d fields, want 5", body, len(fields))
	}
	var b customerBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return common.Customer{}, fmt.Errorf("body %q: %v", body, err)
	}
	if b.ID == nil || b.FirstName == nil || b.LastName == nil || b.Email == nil || b.Phone == nil {
		return common.Customer{}, fmt.Errorf("body %q: a field is missing or null", body)
	}
	if *b.ID <= 0 {
		return common.Customer{}, fmt.Errorf("body %q: id not positive", body)
	}
	return common.Customer{ID: *b.ID, FirstName: *b.FirstName, LastName: *b.LastName, Email: *b.Email, Phone: *b.Phone}, nil
}

// decodeRequest checks a request and returns its customer and key.
func (d *crmDouble) decodeRequest(r *http.Request, body []byte) (common.Customer, string, error) {
	if d.shaped {
		return decodeShaped(r, body)
	}
	c, err := decode(r, body)
	return c, r.Header.Get("Idempotency-Key"), err
}

func (d *crmDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	c, key, err := d.decodeRequest(r, body)

	d.mu.Lock()
	d.requests++
	if d.first.IsZero() {
		d.first = arrived
	}
	if err != nil {
		d.bad = append(d.bad, err.Error())
		d.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := d.f
	u := d.rng.Float64()
	delay := f.Latency
	if f.Jitter > 0 {
		delay += time.Duration(d.rng.Int64N(int64(f.Jitter) + 1))
	}
	d.attempts[c.ID] = append(d.attempts[c.ID], attempt{at: arrived, key: key})
	n := len(d.attempts[c.ID]) - 1
	d.mu.Unlock()

	if delay > 0 {
		time.Sleep(delay)
	}
	if f.HoldKey != "" && key == f.HoldKey {
		select {
		case <-f.Release:
		case <-r.Context().Done():
		case <-d.stopped:
		}
	}
	status, retryAfter := http.StatusOK, 0
	switch {
	case f.Upstream != "":
		status, retryAfter = d.forward(f.Upstream, r, body)
	case f.Unavailable:
		status, retryAfter = http.StatusServiceUnavailable, f.RetryAfter
	case f.RefuseKey != "" && key == f.RefuseKey:
		status = f.RefuseStatus
	case u < f.HangRate:
		// Held until the client gives up (or the double closes).
		select {
		case <-r.Context().Done():
		case <-d.stopped:
		}
		d.answer(c.ID, n, 0, 0)
		return
	case u < f.HangRate+f.LimitRate:
		status, retryAfter = http.StatusTooManyRequests, f.RetryAfter
	case u < f.HangRate+f.LimitRate+f.FailRate:
		status = http.StatusInternalServerError
	}
	if status == http.StatusOK {
		d.mu.Lock()
		if len(d.accepted[c.ID]) == 0 {
			d.bodies[c.ID] = c
		}
		d.lastBody[c.ID] = c
		d.accepted[c.ID] = append(d.accepted[c.ID], key)
		d.mu.Unlock()
	}
	// Recorded before the answer goes out, so that whoever got it finds
	// it counted. (A retry is scheduled after the answer arrives: its
	// Retry-After is measured from a moment a little earlier.)
	d.answer(c.ID, n, status, time.Duration(retryAfter)*time.Second)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
}

func (d *crmDouble) answer(id int64, n, status int, retryAfter time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := &d.attempts[id][n]
	a.status, a.retryAfter = status, retryAfter
	if status != 0 {
		a.answered = time.Now()
	}
	d.byStatus[status]++
}
