package mockcrm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The HubSpot mode (Config.HubSpot) answers as HubSpot's CRM API answers
// for contacts, the parts goquiz meets:
//
//	POST  /crm/v3/objects/contacts              create: {"properties":{"email":…,…}}
//	                                            201 with the contact; 409 when a contact
//	                                            has that email already; 400 for an invalid
//	                                            email or body (HubSpot's error objects)
//	PATCH /crm/v3/objects/contacts/{id}         update the contact of that id, or of that
//	                                            email with ?idProperty=email; 404 when none
//	GET   /crm/v3/objects/contacts/{id}         read it back (every property), or 404
//	GET   /crm/v3/objects/contacts?after=&limit= list them, oldest first, 100 a page
//
// with HubSpot's ten-second rolling window (Config.HubSpotLimit) and its
// X-HubSpot-RateLimit-* headers on every answer; past the limit, 429 with
// HubSpot's RATE_LIMIT error and no Retry-After. The Idempotency-Key is
// ignored, as HubSpot does: a contact created twice is a 409.

// HubSpotContactsPath is the path of HubSpot's contacts.
const HubSpotContactsPath = "/crm/v3/objects/contacts"

// hubSpot is the state of the HubSpot mode: the contacts, the window and
// the counts of HubSpotStats.
type hubSpot struct {
	contacts *contactStore
	window   *rollingWindow // nil: no limit

	updated, conflicts, invalid atomic.Int64
}

// newHubSpot returns the HubSpot mode's state for cfg, or nil when cfg
// does not ask for it.
func newHubSpot(cfg Config) *hubSpot {
	if !cfg.HubSpot {
		return nil
	}
	return &hubSpot{contacts: newContactStore(), window: newRollingWindow(HubSpotWindow, cfg.HubSpotLimit)}
}

// HubSpotStats are the counters of the HubSpot mode; in it, Stats.Accepted
// counts the contacts created, Stats.Throttled the requests past the
// window.
type HubSpotStats struct {
	// Contacts is the number of contacts held.
	Contacts int64 `json:"contacts"`
	// Updated counts the contacts updated (PATCH answered 200).
	Updated int64 `json:"updated"`
	// Conflicts counts the requests answered 409: a contact has the
	// email already.
	Conflicts int64 `json:"conflicts"`
	// Invalid counts the requests answered 400 for their body: not
	// JSON, an unknown property, an invalid email. They are counted in
	// Stats.BadRequests too.
	Invalid int64 `json:"invalid"`
}

// stats returns the mode's counters; zero when it is off.
func (h *hubSpot) stats() HubSpotStats {
	if h == nil {
		return HubSpotStats{}
	}
	return HubSpotStats{Contacts: h.contacts.len(), Updated: h.updated.Load(), Conflicts: h.conflicts.Load(), Invalid: h.invalid.Load()}
}

// propertyName is the form of a HubSpot property's internal name.
var propertyName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// serveHubSpot serves a request in the HubSpot mode.
func (s *Server) serveHubSpot(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.hubSpotThrottle) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), HubSpotContactsPath)
	switch {
	case ok && (rest == "" || rest == "/") && r.Method == http.MethodPost:
		s.hubSpotCreate(w, r)
	case ok && (rest == "" || rest == "/") && r.Method == http.MethodGet:
		s.hubSpotList(w, r)
	case ok && rest != "" && !strings.Contains(rest[1:], "/") && (r.Method == http.MethodGet || r.Method == http.MethodPatch):
		key, err := url.PathUnescape(rest[1:])
		if err != nil {
			s.hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid contact id in the path")
			return
		}
		if r.Method == http.MethodGet {
			s.hubSpotRead(w, r, key)
		} else {
			s.hubSpotUpdate(w, r, key)
		}
	case ok:
		w.Header().Set("Allow", "GET, POST, PATCH")
		s.hubSpotError(w, http.StatusMethodNotAllowed, "VALIDATION_ERROR", "method "+r.Method+" is not allowed here")
	default:
		s.hubSpotError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "no such path: this mock serves "+HubSpotContactsPath)
	}
}

// hubSpotCreate creates a contact.
func (s *Server) hubSpotCreate(w http.ResponseWriter, r *http.Request) {
	props, ok := s.hubSpotProperties(w, r)
	if !ok || s.injectFault(w, r) {
		return
	}
	c, existing := s.hub.contacts.create(props, s.now())
	if existing != 0 {
		s.hub.conflicts.Add(1)
		s.hubSpotError(w, http.StatusConflict, "CONFLICT", fmt.Sprintf("Contact already exists. Existing ID: %d", existing))
		return
	}
	s.counts.accepted.Add(1)
	s.hubSpotObject(w, http.StatusCreated, c)
}

// hubSpotUpdate updates the contact of key: its id, or its email with
// ?idProperty=email.
func (s *Server) hubSpotUpdate(w http.ResponseWriter, r *http.Request, key string) {
	props, ok := s.hubSpotProperties(w, r)
	if !ok || s.injectFault(w, r) {
		return
	}
	c, status, existing := s.hub.contacts.update(key, r.URL.Query().Get("idProperty") == "email", props, s.now())
	switch status {
	case http.StatusNotFound:
		s.counts.badRequests.Add(1)
		s.hubSpotError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found")
	case http.StatusConflict:
		s.hub.conflicts.Add(1)
		s.hubSpotError(w, http.StatusConflict, "CONFLICT", fmt.Sprintf("Contact already exists. Existing ID: %d", existing))
	default:
		s.hub.updated.Add(1)
		s.hubSpotObject(w, http.StatusOK, c)
	}
}

// hubSpotRead answers the contact of key, or 404.
func (s *Server) hubSpotRead(w http.ResponseWriter, r *http.Request, key string) {
	c, ok := s.hub.contacts.find(key, r.URL.Query().Get("idProperty") == "email")
	if !ok {
		s.hubSpotError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found")
		return
	}
	s.hubSpotObject(w, http.StatusOK, c)
}

// hubSpotList answers a page of contacts, oldest first: limit (at most
// 100) after the id after.
func (s *Server) hubSpotList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 100
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	page, next := s.hub.contacts.page(after, limit)
	out := struct {
		Results []contactJSON `json:"results"`
		Paging  any           `json:"paging,omitempty"`
	}{Results: make([]contactJSON, 0, len(page))}
	for _, c := range page {
		out.Results = append(out.Results, c.json())
	}
	if next != 0 {
		out.Paging = map[string]any{"next": map[string]string{"after": strconv.FormatInt(next, 10)}}
	}
	s.hubSpotJSON(w, http.StatusOK, out)
}

// hubSpotProperties reads and checks a body {"properties":{…}}: a JSON
// object whose properties are named as HubSpot's internal names, with
// strings, numbers, booleans or null as values (kept as strings; null as
// ""), and a valid email when there is one. It answers the mistake
// itself and reports false.
func (s *Server) hubSpotProperties(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	body, status, err := s.readBody(w, r)
	if err != nil {
		s.counts.badRequests.Add(1)
		s.hubSpotError(w, status, "VALIDATION_ERROR", err.Error())
		return nil, false
	}
	fail := func(msg string) (map[string]string, bool) {
		s.counts.badRequests.Add(1)
		s.hub.invalid.Add(1)
		s.hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", msg)
		return nil, false
	}
	if err := checkSyntax(body); err != nil {
		return fail("Invalid input JSON: " + err.Error())
	}
	var in struct {
		Properties   map[string]json.RawMessage `json:"properties"`
		Associations json.RawMessage            `json:"associations"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fail("Invalid input JSON: " + err.Error())
	}
	if in.Properties == nil {
		return fail(`Invalid input JSON: "properties" is missing`)
	}
	props := make(map[string]string, len(in.Properties))
	for name, raw := range in.Properties {
		if !propertyName.MatchString(name) {
			return fail(fmt.Sprintf("Property values were not valid: [%s]", propertyError(name, "PROPERTY_DOESNT_EXIST",
				fmt.Sprintf("Property %q does not exist", truncate(name, maxQuotedKey)))))
		}
		v, ok := propertyValue(raw)
		if !ok {
			return fail(fmt.Sprintf("Property values were not valid: [%s]", propertyError(name, "INVALID_PROPERTY_VALUE",
				fmt.Sprintf("%s must be a string, a number or a boolean", name))))
		}
		props[name] = v
	}
	if email := props["email"]; email != "" && !validEmail(email) {
		return fail(fmt.Sprintf("Property values were not valid: [%s]", propertyError("email", "INVALID_EMAIL",
			fmt.Sprintf("Email address %s is invalid", truncate(email, 100)))))
	}
	return props, true
}

// propertyValue returns a property's JSON value as HubSpot keeps it, a
// string, and false for an object or an array.
func propertyValue(raw json.RawMessage) (string, bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return string(bytes.TrimSpace(raw)), true
	}
	return "", false
}

// propertyError is one item of a HubSpot validation error's list, as
// JSON text, its fields in HubSpot's order.
func propertyError(name, code, msg string) string {
	b, _ := json.Marshal(struct {
		IsValid   bool   `json:"isValid"`
		Message   string `json:"message"`
		Error     string `json:"error"`
		Name      string `json:"name"`
		Localized string `json:"localizedErrorMessage"`
	}{false, msg, code, name, msg})
	return string(b)
}

// hubSpotErrorJSON is HubSpot's error object, its fields in HubSpot's
// order: the start of a refusal is what a client keeps of it.
type hubSpotErrorJSON struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	ErrorType     string `json:"errorType,omitempty"`
	CorrelationID string `json:"correlationId"`
	PolicyName    string `json:"policyName,omitempty"`
	Category      string `json:"category,omitempty"`
}

// validEmail tells whether s looks like an email address: one "@" between
// a local part and a domain with a dot, neither holding white space nor
// control characters, the domain's labels not empty.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return false
		}
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\\' || r == '(' || r == ')' || r == ',' || r == ';' || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// hubSpotError answers HubSpot's error object.
func (s *Server) hubSpotError(w http.ResponseWriter, status int, category, msg string) {
	s.hubSpotJSON(w, status, hubSpotErrorJSON{Status: "error", Message: msg, CorrelationID: s.rng.uuid(), Category: category})
}

// hubSpotObject answers a contact.
func (s *Server) hubSpotObject(w http.ResponseWriter, status int, c contact) {
	s.hubSpotJSON(w, status, c.json())
}

// hubSpotJSON answers v as JSON.
func (s *Server) hubSpotJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// hubSpotThrottle applies the ten-second window: it sets the
// X-HubSpot-RateLimit-* headers and, past the limit, answers 429 as
// HubSpot does (no Retry-After) and reports true.
func (s *Server) hubSpotThrottle(w http.ResponseWriter, now time.Time) bool {
	if s.hub.window == nil {
		return false
	}
	remaining, ok := s.hub.window.take(now)
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.hub.window.length.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.hub.window.max))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(remaining))
	if ok {
		return false
	}
	s.counts.throttled.Add(1)
	s.hubSpotJSON(w, http.StatusTooManyRequests, hubSpotErrorJSON{Status: "error",
		Message: "You have reached your ten_secondly_rolling limit.", ErrorType: "RATE_LIMIT",
		CorrelationID: s.rng.uuid(), PolicyName: "TEN_SECONDLY_ROLLING"})
	return true
}
