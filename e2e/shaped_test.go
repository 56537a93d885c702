package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"goquiz/common"
)

// shapedTemplate is the body of the shaped requests: the customer nested
// in an object of another CRM's making.
const shapedTemplate = `{
  "contact": {
    "ref": {{id}},
    "name": {"given": {{first_name}}, "family": {{last_name}}},
    "channels": [{"kind": "email", "value": {{email}}}, {"kind": "phone", "value": {{phone}}}]
  },
  "source": "goquiz"
}
`

// shapedEnv is the integrator's environment for the shaped double at
// endpoint: PUT endpoint/{id}, shapedTemplate, the key in X-Request-Id,
// an API version header.
func shapedEnv(t *testing.T, dsn, endpoint string, extra ...string) []string {
	return integratorEnv(dsn, endpoint+"/{id}", append([]string{
		"API_METHOD=PUT", "BODY_TEMPLATE=" + writeTemplate(t, shapedTemplate), "IDEMPOTENCY_HEADER=X-Request-Id",
		"API_HEADERS=X-Api-Version: 2024-01", "SUCCESS_STATUS=200,201",
	}, extra...)...)
}

// shapedBody is the body shapedTemplate makes.
type shapedBody struct {
	Contact *struct {
		Ref  *int64 `json:"ref"`
		Name *struct {
			Given  *string `json:"given"`
			Family *string `json:"family"`
		} `json:"name"`
		Channels []struct {
			Kind  string `json:"kind"`
			Value string `json:"value"`
		} `json:"channels"`
	} `json:"contact"`
	Source string `json:"source"`
}

// decodeShaped checks a request of shapedEnv — PUT /customers/ID with
// the same id in the body, its headers, exactly the template's fields —
// and returns its customer and key.
func decodeShaped(r *http.Request, body []byte) (common.Customer, string, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/customers/"), 10, 64)
	switch {
	case r.Method != http.MethodPut:
		return common.Customer{}, "", fmt.Errorf("method %s", r.Method)
	case err != nil || !strings.HasPrefix(r.URL.Path, "/customers/"):
		return common.Customer{}, "", fmt.Errorf("path %s", r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		return common.Customer{}, "", fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
	case r.Header.Get("X-Api-Version") != "2024-01":
		return common.Customer{}, "", fmt.Errorf("X-Api-Version %q", r.Header.Get("X-Api-Version"))
	case r.Header.Get("Idempotency-Key") != "":
		return common.Customer{}, "", errors.New("an Idempotency-Key besides X-Request-Id")
	case r.Header.Get("X-Request-Id") == "":
		return common.Customer{}, "", errors.New("no X-Request-Id")
	}
	var b shapedBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return common.Customer{}, "", fmt.Errorf("body %q: %v", body, err)
	}
	ct := b.Contact
	if ct == nil || ct.Ref == nil || ct.Name == nil || ct.Name.Given == nil || ct.Name.Family == nil || len(ct.Channels) != 2 ||
		ct.Channels[0].Kind != "email" || ct.Channels[1].Kind != "phone" || b.Source != "goquiz" {
		return common.Customer{}, "", fmt.Errorf("body %q: not the template's shape", body)
	}
	if *ct.Ref != id {
		return common.Customer{}, "", fmt.Errorf("body %q: ref %d in the body, %d in the path", body, *ct.Ref, id)
	}
	return common.Customer{ID: id, FirstName: *ct.Name.Given, LastName: *ct.Name.Family, Email: ct.Channels[0].Value, Phone: ct.Channels[1].Value},
		r.Header.Get("X-Request-Id"), nil
}

// Scenario 22: scenario 4 with the requests shaped by a template: PUT to
// a path holding the id, a body nested three levels deep, the key in
// X-Request-Id. The integrator is killed with SIGKILL three times during
// delivery and restarted at once: every customer reaches the CRM with its
// values, those sent twice are among what the killed integrators held,
// and every request of a customer carries its key.
func TestKillIntegratorWithATemplate(t *testing.T) {
	const (
		n     = 20000
		kills = 3
	)
	sc := newScenario(t, n, 16, faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, FailRate: 0.05})
	crm := sc.crm
	crm.shaped = true
	env := shapedEnv(t, sc.dsn, crm.URL(), "LEASE=2s")

	held, took := sc.killAndRestart(t, env, kills, time.Now())
	st := checkDelivered(t, crm, sc.db, sc.want)
	if st.Duplicates > held {
		t.Fatalf("%d duplicates, more than the %d records the killed integrators held", st.Duplicates, held)
	}
	figures(t, fmt.Sprintf("22 (SIGKILL integrator x%d, requests shaped by a template: PUT /customers/{id}, X-Request-Id)", kills), n, took, st,
		fmt.Sprintf("held_by_the_killed=%d status_500=%d", held, crm.statusCount(500)))
}
