package crm

import (
	"bytes"
	"encoding/json"

	"goquiz/common"
)

// wireCustomer is the wire form of a customer.
type wireCustomer struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// encode returns the wire form of c: the compact JSON object
// {"id":…,"first_name":…,"last_name":…,"email":…,"phone":…} (its version
// goes in the Idempotency-Key, not the body), HTML
// characters as they are, invalid UTF-8 as U+FFFD.
//
// encoding/json costs about 0.3 µs more per customer than the
// hand-written encoder it replaced (BenchmarkEncode: 0.35-0.45 µs against
// 0.12, on the CI machine): 1% of the integrator's CPU per record against
// an instant mock, nothing against a CRM at 20 ms. Not worth 90 lines
// that had to follow encoding/json's escaping byte for byte.
func encode(c common.Customer) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(`{"id":,"first_name":"","last_name":"","email":"","phone":""}`) + 20 +
		len(c.FirstName) + len(c.LastName) + len(c.Email) + len(c.Phone) + 1)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toWire(c)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// toWire returns the wire form of c's five values.
func toWire(c common.Customer) wireCustomer {
	return wireCustomer{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone}
}
