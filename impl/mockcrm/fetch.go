package mockcrm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// FetchStats reads the counters a Server serves at base+"/stats" (base
// as in http://127.0.0.1:8080), with the bearer token when it is not
// empty. ctx bounds the request; client nil means http.DefaultClient.
func FetchStats(ctx context.Context, client *http.Client, base, token string) (Stats, error) {
	var s Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stats", nil)
	if err != nil {
		return s, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("GET /stats: %w", err)
	}
	return s, nil
}
