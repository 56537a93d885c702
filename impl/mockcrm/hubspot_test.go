package mockcrm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contactBody returns a create or update body of properties.
func contactBody(props map[string]any) string {
	b, _ := json.Marshal(map[string]any{"properties": props})
	return string(b)
}

// hubSpotAnswer decodes an answer's JSON body.
func hubSpotAnswer(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	return m
}

func TestHubSpotCreateReadUpdate(t *testing.T) {
	s := New(Config{HubSpot: true})
	props := map[string]any{"email": "Ada@Example.com", "firstname": `Zoë "Z" \ <b>`, "lastname": "tab\tnl\n\x01", "phone": "☎ +44"}
	w := do(t, s, request{path: HubSpotContactsPath, body: contactBody(props), keyID: 1})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	created := hubSpotAnswer(t, w)
	assert.Equal(t, "101", created["id"])
	got := created["properties"].(map[string]any)
	for k, v := range props {
		assert.Equal(t, v, got[k], k)
	}
	assert.Equal(t, "101", got["hs_object_id"])
	assert.Equal(t, false, created["archived"])

	// The same email again, whatever its case and the key: 409.
	w = do(t, s, request{path: HubSpotContactsPath, body: contactBody(map[string]any{"email": "ada@example.COM"}), keyID: 1})
	require.Equal(t, http.StatusConflict, w.Code)
	conflict := hubSpotAnswer(t, w)
	assert.Equal(t, "error", conflict["status"])
	assert.Equal(t, "CONFLICT", conflict["category"])
	assert.Equal(t, "Contact already exists. Existing ID: 101", conflict["message"])
	assert.NotEmpty(t, conflict["correlationId"])

	// Read back by id and by email.
	for _, path := range []string{HubSpotContactsPath + "/101", HubSpotContactsPath + "/ada%40example.com?idProperty=email"} {
		w = do(t, s, request{method: http.MethodGet, path: path})
		require.Equal(t, http.StatusOK, w.Code, path)
		assert.Equal(t, props["firstname"], hubSpotAnswer(t, w)["properties"].(map[string]any)["firstname"])
	}
	w = do(t, s, request{method: http.MethodGet, path: HubSpotContactsPath + "/999"})
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "OBJECT_NOT_FOUND", hubSpotAnswer(t, w)["category"])

	// Update by email; an unknown one is 404.
	w = do(t, s, request{method: http.MethodPatch, path: HubSpotContactsPath + "/ADA@example.com?idProperty=email",
		body: contactBody(map[string]any{"phone": 12345, "lastname": nil, "vip": true})})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got = hubSpotAnswer(t, w)["properties"].(map[string]any)
	assert.Equal(t, "12345", got["phone"])
	assert.Equal(t, "", got["lastname"])
	assert.Equal(t, "true", got["vip"])
	assert.Equal(t, props["firstname"], got["firstname"])
	w = do(t, s, request{method: http.MethodPatch, path: HubSpotContactsPath + "/none@example.com?idProperty=email", body: contactBody(map[string]any{"phone": "1"})})
	assert.Equal(t, http.StatusNotFound, w.Code)

	st := s.Stats()
	assert.Equal(t, HubSpotStats{Contacts: 1, Updated: 1, Conflicts: 1}, st.HubSpot)
	assert.Equal(t, int64(1), st.Accepted, "contacts created")
	assert.Equal(t, int64(1), st.BadRequests, "the update of no contact")
}

func TestHubSpotRefusals(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		category, inMessage      string
	}{
		{"invalid email", "", "", contactBody(map[string]any{"email": "not-an-email", "firstname": "A"}), 400, "VALIDATION_ERROR", `"message":"Email address not-an-email is invalid","error":"INVALID_EMAIL","name":"email"`},
		{"email with a space", "", "", contactBody(map[string]any{"email": "a b@example.com"}), 400, "VALIDATION_ERROR", "INVALID_EMAIL"},
		{"email without a dot", "", "", contactBody(map[string]any{"email": "a@localhost"}), 400, "VALIDATION_ERROR", "INVALID_EMAIL"},
		{"unknown property", "", "", contactBody(map[string]any{"First Name": "A"}), 400, "VALIDATION_ERROR", "PROPERTY_DOESNT_EXIST"},
		{"object value", "", "", contactBody(map[string]any{"firstname": map[string]any{"a": 1}}), 400, "VALIDATION_ERROR", "INVALID_PROPERTY_VALUE"},
		{"goquiz's body", "", "", `{"id":1,"first_name":"A","last_name":"B","email":"a@b.c","phone":"1"}`, 400, "VALIDATION_ERROR", "Invalid input JSON"},
		{"no properties", "", "", `{}`, 400, "VALIDATION_ERROR", `"properties" is missing`},
		{"not JSON", "", "", `{"properties":`, 400, "VALIDATION_ERROR", "Invalid input JSON"},
		{"PUT", http.MethodPut, HubSpotContactsPath + "/101", contactBody(map[string]any{}), 405, "VALIDATION_ERROR", "not allowed"},
		{"other path", "", "/customers", contactBody(map[string]any{}), 404, "OBJECT_NOT_FOUND", HubSpotContactsPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{HubSpot: true})
			path := tt.path
			if path == "" {
				path = HubSpotContactsPath
			}
			w := do(t, s, request{method: tt.method, path: path, body: tt.body})
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, "application/json;charset=utf-8", w.Header().Get("Content-Type"))
			m := hubSpotAnswer(t, w)
			assert.Equal(t, "error", m["status"])
			assert.Equal(t, tt.category, m["category"])
			assert.Contains(t, m["message"], tt.inMessage)
			assert.True(t, strings.HasPrefix(w.Body.String(), `{"status":"error","message":`), "HubSpot's order: %s", w.Body.String())
			assert.Zero(t, s.Stats().HubSpot.Contacts)
		})
	}
}

func TestHubSpotRateLimitWindow(t *testing.T) {
	s := New(Config{HubSpot: true, HubSpotLimit: 3})
	now := time.Now()
	s.now = func() time.Time { return now }
	post := func(i int) *httptest.ResponseRecorder {
		return do(t, s, request{path: HubSpotContactsPath, body: contactBody(map[string]any{"email": fmt.Sprintf("c%d@example.com", i)})})
	}
	for i, wantRemaining := range []string{"2", "1", "0"} {
		w := post(i)
		require.Equal(t, http.StatusCreated, w.Code)
		assert.Equal(t, "10000", w.Header().Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		assert.Equal(t, "3", w.Header().Get("X-HubSpot-RateLimit-Max"))
		assert.Equal(t, wantRemaining, w.Header().Get("X-HubSpot-RateLimit-Remaining"))
		now = now.Add(3 * time.Second)
	}
	// 9s after the first: the window still holds three.
	w := post(9)
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Empty(t, w.Header().Get("Retry-After"), "HubSpot's ten-secondly limit sends none")
	assert.Equal(t, "0", w.Header().Get("X-HubSpot-RateLimit-Remaining"))
	m := hubSpotAnswer(t, w)
	assert.Equal(t, "RATE_LIMIT", m["errorType"])
	assert.Equal(t, "TEN_SECONDLY_ROLLING", m["policyName"])
	// 10.5s after the first, it rolled out of the window.
	now = now.Add(1500 * time.Millisecond)
	w = post(10)
	require.Equal(t, http.StatusCreated, w.Code)
	assert.Equal(t, "0", w.Header().Get("X-HubSpot-RateLimit-Remaining"))
	assert.Equal(t, int64(1), s.Stats().Throttled)
	// A window later, all of it is free again.
	now = now.Add(time.Minute)
	assert.Equal(t, "2", post(11).Header().Get("X-HubSpot-RateLimit-Remaining"))
}

func TestHubSpotList(t *testing.T) {
	s := New(Config{HubSpot: true})
	for i := range 250 {
		require.Equal(t, http.StatusCreated, do(t, s, request{path: HubSpotContactsPath, body: contactBody(map[string]any{"email": fmt.Sprintf("c%d@example.com", i)})}).Code)
	}
	var emails []string
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		w := do(t, s, request{method: http.MethodGet, path: HubSpotContactsPath + "?limit=100&after=" + after})
		require.Equal(t, http.StatusOK, w.Code)
		var page struct {
			Results []struct {
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
			} `json:"results"`
			Paging *struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
		for _, r := range page.Results {
			emails = append(emails, r.Properties["email"])
		}
		if page.Paging == nil {
			break
		}
		after = page.Paging.Next.After
	}
	require.Len(t, emails, 250)
	assert.Equal(t, "c0@example.com", emails[0])
	assert.Equal(t, "c249@example.com", emails[249])
}

func TestHubSpotStatsJSON(t *testing.T) {
	s := New(Config{HubSpot: true})
	do(t, s, request{path: HubSpotContactsPath, body: contactBody(map[string]any{"email": "bad"})})
	w := do(t, s, request{method: http.MethodGet, path: StatsPath})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"hubspot":{"contacts":0,"updated":0,"conflicts":0,"invalid":1}`)
	w = do(t, New(Config{}), request{method: http.MethodGet, path: StatsPath})
	assert.NotContains(t, w.Body.String(), "hubspot", "left out in the default mode")
	assert.True(t, strings.HasPrefix(strconv.Quote(w.Body.String()), `"{`))
}
