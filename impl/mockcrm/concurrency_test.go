package mockcrm

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestServeConcurrent(t *testing.T) {
	const (
		workers = 8
		perWork = 300
		ids     = 1000 // fewer ids than requests: many duplicates
	)
	s := New(Config{FailRate: 0.2, RateLimitRate: 0.1, Seed: 7})
	srv := httptest.NewServer(s)
	defer srv.Close()

	var (
		mu     sync.Mutex
		okIDs  = map[int64]bool{}
		failed int
		wg     sync.WaitGroup
		errs   = make(chan error, workers)
		hc     = srv.Client()
		post   = func(id int64) (int, error) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/customers", bytes.NewReader([]byte(customerJSON(id))))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Idempotency-Key", common.IdempotencyKey(id))
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWork {
				id := int64((w*perWork+i)%ids + 1)
				code, err := post(id)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if code == http.StatusOK {
					okIDs[id] = true
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	st := s.Stats()
	assert.Equal(t, int64(workers*perWork), st.Requests)
	assert.Equal(t, st.Requests, st.Accepted+st.Duplicates+st.Faults.Fail+st.Faults.RateLimited)
	assert.Equal(t, int64(failed), st.Faults.Fail+st.Faults.RateLimited)
	assert.Equal(t, int64(len(okIDs)), st.Accepted, "each id accepted once")
	assert.Equal(t, int64(len(okIDs)), s.AcceptedCount())
	for id := range okIDs {
		assert.True(t, s.Accepted(id))
	}
}
