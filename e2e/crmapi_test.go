package e2e_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
)

// hubspotTemplate is the repository's body template for HubSpot.
func hubspotTemplate(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "examples", "hubspot", "contact.json"))
	require.NoError(t, err)
	require.FileExists(t, path)
	return path
}

// writeCustomerFile writes customers to a CSV file and returns its path.
func writeCustomerFile(t *testing.T, cs []common.Customer) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := csv.NewWriter(f)
	require.NoError(t, w.Write([]string{"id", "first_name", "last_name", "email", "phone"}))
	for _, c := range cs {
		require.NoError(t, w.Write([]string{fmt.Sprint(c.ID), c.FirstName, c.LastName, c.Email, c.Phone}))
	}
	w.Flush()
	require.NoError(t, w.Error())
	require.NoError(t, f.Close())
	return path
}

// writeTemplate writes a body template of the test's and returns its path.
func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// hubspotEnv is an integrator's environment against the HubSpot mock
// with the repository's settings (examples/hubspot/hubspot.env, but the
// mock's address and no MAX_RATE), then extra.
func hubspotEnv(t *testing.T, dsn, api string, extra ...string) []string {
	return integratorEnv(dsn, api+mockcrm.HubSpotContactsPath, append([]string{
		"BODY_TEMPLATE=" + hubspotTemplate(t), "IDEMPOTENCY_HEADER=", "SUCCESS_STATUS=201", "GIVE_UP_ON=400,409",
	}, extra...)...)
}

// contactOf reads back the contact of an email from the HubSpot mock.
func contactOf(t *testing.T, api, email string) (map[string]string, int) {
	t.Helper()
	// The lookup counts in the mock's window like any request, and the
	// integrator leaves the window nearly full (it paces one request short
	// of it): past the window, a 429 is asked again, for up to two windows.
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		resp, err = http.Get(api + mockcrm.HubSpotContactsPath + "/" + url.PathEscape(email) + "?idProperty=email")
		require.NoError(t, err)
		if resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			break
		}
		resp.Body.Close()
	}
	defer resp.Body.Close()
	var c struct {
		Properties map[string]string `json:"properties"`
	}
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	}
	return c.Properties, resp.StatusCode
}

// hubspotStats reads the HubSpot mock's counters.
func hubspotStats(t *testing.T, api string) mockcrm.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := mockcrm.FetchStats(ctx, nil, api, "")
	require.NoError(t, err)
	return st
}

// waitSettled waits until the database's n records are all sent or
// rejected.
func waitSettled(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	waitFor(t, deliveryTimeout, 50*time.Millisecond, fmt.Sprintf("%d records sent or rejected", n), func() bool {
		return count(db, `SELECT count(*) FROM customers WHERE state IN ('sent', 'rejected')`) == n
	})
}

// Scenario 20: the body shaped by a template, against the real httpapi in
// its HubSpot mode, which parses every body as JSON. Values with quotes,
// backslashes, control characters and text in other scripts go through
// the CSV file, the database and the repository's HubSpot template, and
// read back from the CRM as they were; then a second integrator updates
// the contacts with PATCH to a path holding each email (escaped as a path
// segment, "/" and "+" included), with another template and the key in a
// header of its own, and the CRM reads them back updated.
func TestTemplateValuesReachTheCRMIntact(t *testing.T) {
	nasty := []common.Customer{
		{ID: 1, FirstName: `Robert "Bob"`, LastName: `O\'Brien \\ \n`, Email: "bob@example.com", Phone: "+1 (555) 010-0000"},
		{ID: 2, FirstName: "tab\there", LastName: "line\nbreak", Email: "a/b+c@example.com", Phone: "\x01\x1f\x7f"},
		{ID: 3, FirstName: "Zoë", LastName: "東京 ☎ 🙂 \u2028\u2029", Email: "zoë@例え.jp", Phone: "٠١٢٣"},
		{ID: 4, FirstName: `{{first_name}}`, LastName: `"},"admin":true,"x":{"`, Email: "weird.{id}@example.com", Phone: " spaces  "},
		{ID: 5, FirstName: "", LastName: "<script>alert(1)</script>&amp;", Email: "UPPER@Example.COM", Phone: ""},
	}
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	path := writeCustomerFile(t, nasty)
	api, _ := startHTTPAPI(t, "API_MODE=hubspot", "LOG_INTERVAL=1m")

	parsed(t, runParser(t, dsn, path), len(nasty), len(nasty), 0, 0)
	p := startIntegrator(t, hubspotEnv(t, dsn, api))
	waitAllSent(t, db, len(nasty))
	stopIntegrator(t, p)
	for _, c := range nasty {
		got, status := contactOf(t, api, c.Email)
		require.Equal(t, http.StatusOK, status, "contact of %q", c.Email)
		for k, want := range map[string]string{"email": c.Email, "firstname": c.FirstName, "lastname": c.LastName, "phone": c.Phone} {
			assert.Equal(t, want, got[k], "customer %d: %s", c.ID, k)
		}
		assert.NotContains(t, got, "admin", "no value adds a field")
	}
	st := hubspotStats(t, api)
	assert.Equal(t, int64(len(nasty)), st.Accepted)
	assert.Equal(t, mockcrm.HubSpotStats{Contacts: int64(len(nasty))}, st.HubSpot)

	// Updated in place: PATCH …/contacts/{email}?idProperty=email.
	dsn2 := pgtest.DSN(t)
	db2 := openDB(t, dsn2)
	parsed(t, runParser(t, dsn2, path), len(nasty), len(nasty), 0, 0)
	update := writeTemplate(t, "{\"properties\": {\n  \"goquiz_id\": {{ id }},\n  \"phone\": {{phone}},\n  \"lastname\": {{first_name}}\n}}\n")
	p = startIntegrator(t, integratorEnv(dsn2, api+mockcrm.HubSpotContactsPath+"/{email}?idProperty=email",
		"API_METHOD=PATCH", "BODY_TEMPLATE="+update, "IDEMPOTENCY_HEADER=X-Request-Id", "SUCCESS_STATUS=200",
		"GIVE_UP_ON=400,404,409", "API_HEADERS=X-Api-Version: 3"))
	waitAllSent(t, db2, len(nasty))
	stopIntegrator(t, p)
	for _, c := range nasty {
		got, status := contactOf(t, api, c.Email)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, fmt.Sprint(c.ID), got["goquiz_id"], "customer %d: the id, a JSON number", c.ID)
		assert.Equal(t, c.FirstName, got["lastname"], "customer %d", c.ID)
		assert.Equal(t, c.FirstName, got["firstname"], "customer %d: untouched", c.ID)
	}
	st = hubspotStats(t, api)
	assert.Equal(t, int64(len(nasty)), st.HubSpot.Updated)
	assert.Equal(t, int64(len(nasty)), st.HubSpot.Contacts, "updated, not created")
	figures(t, "20 (template values through the HubSpot mock: created, then PATCHed by email)", len(nasty), 0,
		crmStats{Requests: int(st.Requests)}, "values_intact=yes")
}

// Scenario 21: GIVE_UP_ON against the HubSpot mock, which fails a tenth
// of the requests (500) and allows 1,000 requests per rolling 10 s (429
// with no Retry-After beyond). A share of the customers have invalid
// emails: each is refused once, 400 INVALID_EMAIL, and ends
// rejected with HubSpot's reason; every other customer is created once
// (a second creation would be a 409), and none of the 429s or 500s
// rejects anyone.
func TestGiveUpOnAgainstHubSpot(t *testing.T) {
	const n, limit = 2000, 1000
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	gen := generated(n, 15)
	var cs []common.Customer
	invalid := map[int64]bool{}
	for id := int64(1); id <= n; id++ {
		c := gen[id]
		c.Email = fmt.Sprintf("c%d.%s", id, c.Email) // unique
		switch id % 10 {
		case 3:
			c.Email = fmt.Sprintf("not-an-email-%d", id)
			invalid[id] = true
		case 7:
			if id%20 == 7 {
				c.Email = fmt.Sprintf("c%d@example com", id)
				invalid[id] = true
			}
		}
		cs = append(cs, c)
	}
	path := writeCustomerFile(t, cs)
	api, _ := startHTTPAPI(t, "API_MODE=hubspot", fmt.Sprintf("HUBSPOT_RATE_LIMIT=%d", limit), "FAIL_RATE=0.1", "SEED=15", "LOG_INTERVAL=1m")

	start := time.Now()
	parsed(t, runParser(t, dsn, path), n, n, 0, 0)
	// Another client of the same app has just spent most of the window:
	// the integrator, pacing by the headers one short of the window's
	// rate, meets HubSpot's 429s (no Retry-After) all the same, and
	// retries; when the window turns, it resumes at the window's rate.
	for range limit - 20 {
		_, status := contactOf(t, api, "nobody@example.com")
		require.Equal(t, http.StatusNotFound, status)
	}
	p := startIntegrator(t, hubspotEnv(t, dsn, api, "WORKERS=8"))
	waitSettled(t, db, n)
	took := time.Since(start)
	stopIntegrator(t, p)

	st := hubspotStats(t, api)
	valid := int64(n - len(invalid))
	assert.Equal(t, valid, st.Accepted, "every valid customer created")
	// A 400 ends its record: as many 400s as invalid customers is one
	// each. A contact asked for again would be a 409.
	assert.Equal(t, mockcrm.HubSpotStats{Contacts: valid, Invalid: int64(len(invalid))}, st.HubSpot,
		"each invalid customer refused once; no contact asked for twice")
	assert.Positive(t, st.Faults.Fail, "some 500s, retried")
	assert.Positive(t, st.Throttled, "the window refused some requests, retried")

	rows, err := db.Query(`SELECT id, state, attempts, coalesce(last_error, '') FROM customers`)
	require.NoError(t, err)
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id int64
		var state, lastErr string
		var attempts int
		require.NoError(t, rows.Scan(&id, &state, &attempts, &lastErr))
		seen++
		if !invalid[id] {
			require.Equal(t, "sent", state, "customer %d", id)
			continue
		}
		require.Equal(t, "rejected", state, "customer %d", id)
		// Its attempts count the 429s and 500s before its one 400 too.
		assert.Positive(t, attempts, "customer %d", id)
		assert.True(t, strings.HasPrefix(lastErr, `status 400: {"status":"error","message":"Property values were not valid: `), lastErr)
		assert.Contains(t, lastErr, `INVALID_EMAIL`)
		assert.Contains(t, lastErr, fmt.Sprint(id), "the reason names the email")
	}
	require.NoError(t, rows.Err())
	require.Equal(t, n, seen)
	for _, c := range cs[:50] {
		_, status := contactOf(t, api, c.Email)
		if invalid[c.ID] {
			assert.Equal(t, http.StatusNotFound, status)
		} else {
			assert.Equal(t, http.StatusOK, status)
		}
	}
	figures(t, "21 (GIVE_UP_ON=400,409 against the HubSpot mock: invalid emails rejected, 500s and 429s retried)", n, took,
		crmStats{Requests: int(st.Requests)}, fmt.Sprintf("created=%d rejected=%d status_500=%d throttled=%d",
			st.Accepted, len(invalid), st.Faults.Fail, st.Throttled))
}
