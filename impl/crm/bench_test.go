package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"goquiz/common"
	"goquiz/impl/mockcrm"
)

// benchParallelism times GOMAXPROCS is the number of concurrent publishers
// of the benchmarks.
const benchParallelism = 4

// newBenchServer starts a server that reads each request and answers 200.
func newBenchServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchCustomer returns a typical customer with the given id.
func benchCustomer(id int64) common.Customer {
	return common.Customer{ID: id, FirstName: "Margaret", LastName: "Hamilton", Email: "margaret.hamilton@example.com", Phone: "+1 555 0100 200"}
}

// BenchmarkPublish measures Client.Publish against a minimal loopback
// server and against the mock CRM, and, as the yardstick, a plain net/http
// client marshalling with encoding/json against the minimal server.
func BenchmarkPublish(b *testing.B) {
	b.Run("client", func(b *testing.B) {
		srv := newBenchServer(b)
		c, err := New(srv.URL, Options{Timeout: 10 * time.Second, MaxConns: 64})
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseIdleConnections()
		var ids atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := errOf(c.Publish(context.Background(), benchCustomer(ids.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("client-vs-mockcrm", func(b *testing.B) {
		srv := httptest.NewServer(mockcrm.New(mockcrm.Config{}))
		b.Cleanup(srv.Close)
		c, err := New(srv.URL, Options{Timeout: 10 * time.Second, MaxConns: 64})
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseIdleConnections()
		var ids atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := errOf(c.Publish(context.Background(), benchCustomer(ids.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("plain-net-http", func(b *testing.B) {
		srv := newBenchServer(b)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		defer tr.CloseIdleConnections()
		var ids atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				body, err := json.Marshal(toWire(benchCustomer(ids.Add(1))))
				if err != nil {
					b.Error(err)
					return
				}
				resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	})
}
