package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"goquiz/impl/gen"
	"goquiz/impl/mockcrm"
	"goquiz/internal/harness/check"
)

// hubspotContact is examples/hubspot/contact.json, the body template of a
// HubSpot contact, which the demo writes into its directory for the
// integrators (a test keeps the two the same).
const hubspotContact = `{
  "properties": {
    "email": {{email}},
    "firstname": {{first_name}},
    "lastname": {{last_name}},
    "phone": {{phone}}
  }
}
`

// crmMode is the API the demo's mock CRM serves, and the integrators'
// settings to speak it: goquiz's own, or HubSpot's (CRM=hubspot).
type crmMode struct {
	// name is CRM's value: goquiz or hubspot.
	name string
	// path is the endpoint's path on the mock CRM.
	path string
	// crmEnv and integratorEnv are the mode's settings of httpapi and
	// the integrators, as the demo's own (the user's environment wins).
	crmEnv, integratorEnv map[string]string
	// template is the body template the integrators use, written to the
	// demo's directory; "" for none.
	template string
}

// modes are the demo's CRM modes, by name.
var modes = map[string]crmMode{
	"goquiz": {name: "goquiz", path: "/customers"},
	// Fake customers share emails now and then: HubSpot answers the
	// second one 409, and GIVE_UP_ON rejects it. The window lets 2,000
	// requests a second through on average, as the default mode's bucket.
	"hubspot": {name: "hubspot", path: mockcrm.HubSpotContactsPath,
		crmEnv: map[string]string{"API_MODE": "hubspot", "HUBSPOT_RATE_LIMIT": "20000"},
		integratorEnv: map[string]string{"IDEMPOTENCY_HEADER": "", "SUCCESS_STATUS": "201", "GIVE_UP_ON": "400,409",
			"API_METHOD": "POST"},
		template: hubspotContact},
}

// modeOf returns the mode CRM names ("" is goquiz's).
func modeOf(name string) (crmMode, error) {
	if name == "" {
		name = "goquiz"
	}
	m, ok := modes[name]
	if !ok {
		return crmMode{}, fmt.Errorf("CRM=%s: want goquiz (the default) or hubspot", name)
	}
	return m, nil
}

// settings returns base with the mode's settings added.
func (m crmMode) settings(base, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// writeTemplate writes the mode's body template into dir and returns the
// integrators' BODY_TEMPLATE setting, none when the mode has no template.
func (m crmMode) writeTemplate(dir string) (map[string]string, error) {
	if m.template == "" {
		return nil, nil
	}
	path := filepath.Join(dir, m.name+"-body.json")
	if err := os.WriteFile(path, []byte(m.template), 0o644); err != nil {
		return nil, err
	}
	return map[string]string{"BODY_TEMPLATE": path}, nil
}

// expect returns what a run of n customers from seed ends with: in
// goquiz's mode every customer sent and accepted; in HubSpot's, a contact
// per distinct email (compared without case, as HubSpot does), and each
// customer whose email an earlier one had refused 409 and rejected.
func (m crmMode) expect(n, seed int64) check.Want {
	if m.name != "hubspot" {
		return check.Once(n)
	}
	emails := make(map[string]struct{}, n)
	for c := range gen.Customers(n, seed) {
		emails[strings.ToLower(c.Email)] = struct{}{}
	}
	distinct := int64(len(emails))
	return check.Want{Stored: n, Sent: distinct, Rejected: n - distinct, Accepted: distinct, Conflicts: n - distinct}
}
