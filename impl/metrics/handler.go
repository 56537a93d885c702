package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyFunc tells whether the process can do its work; its error says
// what is missing, on one line.
type ReadyFunc func(ctx context.Context) error

// DefaultReadyLimit bounds a readiness check when Handler is given no
// limit.
const DefaultReadyLimit = 2 * time.Second

// Handler serves GET /metrics from reg, /healthz (200 while the process
// answers) and /readyz: 200 when ready returns nil (or is nil) within
// limit (DefaultReadyLimit when not positive), 503 with its error
// otherwise.
func Handler(reg *prometheus.Registry, ready ReadyFunc, limit time.Duration) http.Handler {
	if limit <= 0 {
		limit = DefaultReadyLimit
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg, // counts its own scrapes and errors
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), limit)
			defer cancel()
			if err := ready(ctx); err != nil {
				text(w, http.StatusServiceUnavailable, "not ready: "+strings.Join(strings.Fields(err.Error()), " "))
				return
			}
		}
		text(w, http.StatusOK, "ready")
	})
	return mux
}

// text answers a one-line plain-text body.
func text(w http.ResponseWriter, code int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, line)
}
