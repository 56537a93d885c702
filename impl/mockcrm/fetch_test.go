package mockcrm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
)

func TestFetchStats(t *testing.T) {
	srv := httptest.NewServer(mockcrm.New(mockcrm.Config{Token: "s3cret"}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/customers", strings.NewReader(`{"id":1,"first_name":"a","last_name":"b","email":"c","phone":"d"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	st, err := mockcrm.FetchStats(ctx, nil, srv.URL, "s3cret")
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Accepted)
	assert.Equal(t, int64(1), st.Requests)

	_, err = mockcrm.FetchStats(ctx, nil, srv.URL, "")
	assert.EqualError(t, err, "GET /stats: 401 Unauthorized")
}
