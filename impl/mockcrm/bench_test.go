package mockcrm

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"goquiz/common"
)

// BenchmarkServeHTTP measures the handler alone on new customers, without
// network or faults.
func BenchmarkServeHTTP(b *testing.B) {
	s := New(Config{})
	var ids atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids.Add(1)
			r := httptest.NewRequest(http.MethodPost, "/customers", strings.NewReader(customerJSON(id)))
			r.Header.Set("Idempotency-Key", common.IdempotencyKey(id))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}

// BenchmarkDecodeCustomer measures decoding a typical body.
func BenchmarkDecodeCustomer(b *testing.B) {
	body := []byte(`{"id":123456789,"first_name":"Margaret","last_name":"Hamilton","email":"margaret.hamilton@example.com","phone":"+1 555 0100 200"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeCustomer(body); err != nil {
			b.Fatal(err)
		}
	}
}
