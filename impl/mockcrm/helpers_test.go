package mockcrm

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"goquiz/common"
)

// customerJSON returns the wire form of a customer with the given id.
func customerJSON(id int64) string {
	return `{"id":` + strconv.FormatInt(id, 10) + `,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44"}`
}

// request describes one test request; zero fields take usual values.
type request struct {
	method  string
	path    string
	body    string
	header  map[string]string
	noKey   bool  // send no Idempotency-Key
	keyID   int64 // id of the Idempotency-Key, when header has none
	chunked bool  // hide the body's length
}

// do serves req with s and returns the recorded answer.
func do(t *testing.T, s http.Handler, req request) *httptest.ResponseRecorder {
	t.Helper()
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.path == "" {
		req.path = "/customers"
	}
	r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
	if req.chunked {
		r.ContentLength = -1
	}
	r.Header.Set("Content-Type", "application/json")
	if !req.noKey && req.keyID != 0 {
		r.Header.Set("Idempotency-Key", common.IdempotencyKey(req.keyID))
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// postCustomer POSTs the customer id with its idempotency key.
func postCustomer(t *testing.T, s http.Handler, id int64) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, s, request{body: customerJSON(id), keyID: id})
}
