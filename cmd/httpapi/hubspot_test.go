package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/internal/testbin"
)

// TestBinaryHubSpotMode runs httpapi with API_MODE=hubspot: HubSpot's
// contacts, its refusals and its rate-limit headers, and the counters.
func TestBinaryHubSpotMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testbin.Build(t, "goquiz/cmd/httpapi")
	addr := testbin.FreeAddr(t)
	cmd := command(t, bin, []string{"API_LISTEN=" + addr, "API_MODE=hubspot", "HUBSPOT_RATE_LIMIT=190", "API_TOKEN=pat-secret"})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	base := "http://" + addr
	waitReady(t, base+"/stats", "pat-secret")
	auth := map[string]string{"Authorization": "Bearer pat-secret", "Content-Type": "application/json"}

	resp := send(t, http.MethodPost, base+mockcrm.HubSpotContactsPath, `{"properties":{"email":"ada@example.com","firstname":"Ada"}}`, auth)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "190", resp.Header.Get("X-HubSpot-RateLimit-Max"))
	assert.Equal(t, "189", resp.Header.Get("X-HubSpot-RateLimit-Remaining"))
	assert.Equal(t, "10000", resp.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
	resp = send(t, http.MethodPost, base+mockcrm.HubSpotContactsPath, `{"properties":{"email":"ada@example.com"}}`, auth)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	resp = send(t, http.MethodPost, base+mockcrm.HubSpotContactsPath, `{"properties":{"email":"ada"}}`, auth)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), "INVALID_EMAIL")
	resp = send(t, http.MethodPost, base+mockcrm.HubSpotContactsPath, `{"properties":{"email":"bob@example.com"}}`, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp = send(t, http.MethodGet, base+"/stats", "", auth)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st mockcrm.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	assert.Equal(t, int64(1), st.Accepted)
	assert.Equal(t, mockcrm.HubSpotStats{Contacts: 1, Conflicts: 1, Invalid: 1}, st.HubSpot)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.Equal(t, 0, exitCode(t, err), "stderr: %s", stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	assert.Contains(t, stderr.String(), "mode=hubspot hubspot_rate_limit=190")
	assert.NotContains(t, stderr.String(), "pat-secret")
}
