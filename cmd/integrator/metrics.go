package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"goquiz/impl/metrics"
	"goquiz/impl/postgres"
)

// backlogTimeout bounds the store queries of one metrics scrape.
const backlogTimeout = 5 * time.Second

// serveMetrics serves the daemon's metrics, /healthz and /readyz on
// METRICS_LISTEN, and returns the observer of its deliveries and a
// function that stops the server. With METRICS_LISTEN empty it serves
// nothing and the observer is nil.
func serveMetrics(cfg config, db *postgres.DB, ln *postgres.Listener, log *slog.Logger) (*metrics.Delivery, func(), error) {
	if cfg.MetricsListen == "" {
		return nil, func() {}, nil
	}
	reg := metrics.NewRegistry()
	obs := metrics.NewDelivery(reg, cfg.giveUpOn()...)
	reg.MustRegister(metrics.NewBacklog(db, backlogTimeout))
	srv, err := metrics.Listen(cfg.MetricsListen, metrics.Handler(reg, ready(db, ln), cfg.DBTimeout), log)
	if err != nil {
		return nil, nil, err
	}
	log.Info("serving metrics", "addr", srv.Addr(), "paths", "/metrics /healthz /readyz")
	return obs, func() {
		if err := srv.Close(); err != nil {
			log.Warn(err.Error())
		}
	}, nil
}

// ready is the daemon's readiness: the database answers and the listener,
// if any (none when notifications cannot reach the daemon), is connected.
func ready(db *postgres.DB, ln *postgres.Listener) metrics.ReadyFunc {
	return func(ctx context.Context) error {
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("database unreachable: %w", err)
		}
		if ln != nil && !ln.Connected() {
			return errors.New("the LISTEN connection to the database is down; it is reconnecting")
		}
		return nil
	}
}
