package main

import (
	"log/slog"

	"goquiz/impl/metrics"
	"goquiz/impl/mockcrm"
)

// serveMetrics serves the mock CRM's counters, /healthz and /readyz on
// addr, apart from the API, and returns a function that stops the server.
// With addr empty it serves nothing.
func serveMetrics(addr string, mock *mockcrm.Server, logger *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewMockCRM(mock.Stats))
	srv, err := metrics.Listen(addr, metrics.Handler(reg, nil, 0), logger)
	if err != nil {
		return nil, err
	}
	logger.Info("serving metrics", "addr", srv.Addr(), "paths", "/metrics /healthz /readyz")
	return func() {
		if err := srv.Close(); err != nil {
			logger.Warn(err.Error())
		}
	}, nil
}
