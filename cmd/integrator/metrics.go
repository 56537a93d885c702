package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"goquiz/common"
	"goquiz/impl/metrics"
	"goquiz/impl/postgres"
)

// backlogTimeout bounds the store queries of one metrics scrape.
const backlogTimeout = 5 * time.Second

// serveMetrics serves the daemon's metrics, /healthz and /readyz on
// METRICS_LISTEN from the start, before the database is reached, and
// returns the observer of its deliveries, what the daemon tells of its
// start (see started) and a function that stops the server, which may be
// called more than once. With METRICS_LISTEN empty it serves nothing and
// the observer is nil.
func serveMetrics(cfg config, log *slog.Logger) (*metrics.Delivery, *started, func(), error) {
	st := &started{}
	if cfg.MetricsListen == "" {
		return nil, st, func() {}, nil
	}
	reg := metrics.NewRegistry()
	obs := metrics.NewDelivery(reg, cfg.giveUpOn()...)
	obs.Pace(cfg.MaxRate, cfg.Workers) // as the Deliverer starts: MAX_RATE (0: none), WORKERS
	reg.MustRegister(metrics.NewBacklog(st, backlogTimeout))
	srv, err := metrics.Listen(cfg.MetricsListen, metrics.Handler(reg, st.ready, cfg.DBTimeout), log)
	if err != nil {
		return nil, nil, nil, err
	}
	log.Info("serving metrics", "addr", srv.Addr(), "paths", "/metrics /healthz /readyz")
	var once sync.Once
	return obs, st, func() {
		once.Do(func() {
			if err := srv.Close(); err != nil {
				log.Warn(err.Error())
			}
		})
	}, nil
}

// started is what the daemon has of its store as its start goes on: no
// database until it is connected, then the database, then whether it
// listens for notifications (and on which listener). /readyz and the
// backlog gauges read it.
type started struct {
	db        atomic.Pointer[postgres.DB]
	ln        atomic.Pointer[postgres.Listener]
	listening atomic.Bool // whether to listen is decided, ln set if so
	stopping  atomic.Bool // told to stop: it takes no new records
}

// connected records the database, once connected.
func (s *started) connected(db *postgres.DB) { s.db.Store(db) }

// listens records the listener, nil when notifications cannot reach the
// daemon and it polls instead.
func (s *started) listens(ln *postgres.Listener) {
	s.ln.Store(ln)
	s.listening.Store(true)
}

// Backlog reads the backlog of the database once connected.
func (s *started) Backlog(ctx context.Context) (common.Backlog, error) {
	db := s.db.Load()
	if db == nil {
		return common.Backlog{}, errors.New("not connected to the database yet")
	}
	return db.Backlog(ctx)
}

// ready is the daemon's readiness as its start goes on (see ready), and
// once told to stop: not ready while it finishes the requests in flight,
// so that a deployment waiting for readiness sees it going.
func (s *started) ready(ctx context.Context) error {
	if s.stopping.Load() {
		return errors.New("stopping: finishing the requests in flight, claiming no new records")
	}
	db := s.db.Load()
	if db == nil {
		return errors.New("starting: connecting to the database (retried for CONNECT_TIMEOUT)")
	}
	if !s.listening.Load() {
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("database unreachable: %w", err)
		}
		return errors.New("starting: listening for notifications")
	}
	return ready(db, s.ln.Load())(ctx)
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
