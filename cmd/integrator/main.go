// Command integrator is a daemon that delivers the customers stored by the
// parser to the CRM, one record per request, retrying until each is
// accepted, and never sending one twice unless an integrator crashed.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"goquiz/common/deliver"
	"goquiz/impl/crm"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

const synopsis = `Usage: integrator [status [--recount] | retry-failed [--rejected[=STATUSES]]]

integrator (no argument) is the daemon. It delivers every stored customer to
the CRM at API_ENDPOINT: POST, one JSON record per request, with an
Idempotency-Key that is the same on every attempt. A 200 marks the record
sent; anything else is retried with exponential backoff until it succeeds,
or until MAX_ATTEMPTS when set. API_METHOD, BODY_TEMPLATE, API_HEADERS,
IDEMPOTENCY_HEADER and SUCCESS_STATUS shape the requests for another CRM's
API; GIVE_UP_ON names the statuses that refuse a record for good (state
rejected). Wakes on the parser's notifications; several integrators may run
against one database. SIGINT or SIGTERM: stop claiming, finish the requests
in flight, release the rest, exit 0.

integrator status        prints the records by state, the oldest undelivered
                         record's age, the most frequent last errors and the
                         throughput of the last minute, from the database
                         alone (no integrator needs to run). The counts are
                         kept by triggers, so this costs the same on any
                         table size.
integrator status --recount
                         first counts the records again from the table's rows
                         and corrects the kept counts (after the table was
                         changed with its triggers disabled); it reads the
                         whole table and is safe while integrators and
                         parsers run.
integrator retry-failed  puts the records given up after MAX_ATTEMPTS back to
                         pending, due at once, with their attempts reset.
integrator retry-failed --rejected
                         does the same with the records the CRM refused for
                         good (GIVE_UP_ON), and only with them;
                         --rejected=409,422 with those refused with one of
                         these statuses.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the integrator with the command line args — the daemon, or one
// of its commands — and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	out, args, code, ok := cli.Start("integrator", synopsis, &cfg, args, stdout, stderr)
	if !ok {
		return code
	}
	cmd := daemon
	switch {
	case len(args) == 0:
	case len(args) == 1 && args[0] == "status":
		cmd = func(ctx context.Context, cfg config, _ *slog.Logger) error { return status(ctx, cfg, stdout, false) }
	case len(args) == 2 && args[0] == "status" && args[1] == "--recount":
		cmd = func(ctx context.Context, cfg config, _ *slog.Logger) error { return status(ctx, cfg, stdout, true) }
	case len(args) >= 1 && args[0] == "retry-failed":
		which, err := parseRetry(args[1:])
		if err != nil {
			return out.Fail(cli.ExitUsage, err)
		}
		cmd = func(ctx context.Context, cfg config, _ *slog.Logger) error {
			return retryFailed(ctx, cfg, which, stdout)
		}
	default:
		return out.Fail(cli.ExitUsage, fmt.Errorf("unknown command %q: use no argument (the daemon), status, status --recount, retry-failed or retry-failed --rejected; the daemon is configured by the environment (see integrator -h)", strings.Join(args, " ")))
	}
	log := out.Logger(cfg.level())
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, cfg, log); err != nil {
		return out.Fail(cli.ExitFailure, err)
	}
	return cli.ExitOK
}

// gcPercent is the daemon's garbage collection target unless GOGC is set.
// Its live heap is small (the records of two claims and a buffer per
// connection) and almost all it allocates is per request garbage, so
// collecting a quarter as often costs a few MiB and saves about a tenth of
// its CPU at full speed.
const gcPercent = 400

// daemon delivers records until ctx ends.
func daemon(ctx context.Context, cfg config, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	owner := instanceName()
	listenDSN := cfg.ListenDSN
	if listenDSN == "" {
		listenDSN = cfg.DSN
	}
	log.Info("integrator starting",
		"instance", owner,
		"dsn", postgres.Redact(cfg.DSN),
		"listen_dsn", postgres.Redact(listenDSN),
		"api_endpoint", crm.Redacted(cfg.APIEndpoint),
		"api_token", redacted(cfg.APIToken),
		"api_method", cmp.Or(strings.ToUpper(cfg.APIMethod), "POST"),
		"body_template", cmp.Or(cfg.BodyTemplate, "(unset)"),
		"api_headers", cfg.headerNames(),
		"idempotency_header", cmp.Or(cfg.IdempotencyHeader, "(none)"),
		"success_status", cmp.Or(cfg.SuccessStatus, "200"),
		"give_up_on", cmp.Or(cfg.GiveUpOn, "(none)"),
		"workers", cfg.Workers,
		"poll_interval", cfg.PollInterval,
		"retry_delay", cfg.RetryDelay,
		"retry_max_delay", cfg.RetryMaxDelay,
		"request_timeout", cfg.RequestTimeout,
		"lease", cfg.Lease,
		"db_timeout", cfg.DBTimeout,
		"max_attempts", cfg.MaxAttempts,
		"max_rate", cfg.MaxRate,
		"adaptive_rate", cfg.AdaptiveRate,
		"metrics_listen", cfg.MetricsListen)

	// The Deliverer bounds every attempt by REQUEST_TIMEOUT and keeps
	// WORKERS requests in flight; the client sizes its transport from the
	// same two (dial and TLS limits, HTTP/2 pings, a connection per
	// worker) and enforces neither on its own.
	copts, err := cfg.crmOptions() // checked at start, read again
	if err != nil {
		return err
	}
	copts.Token, copts.Timeout, copts.MaxConns = cfg.APIToken, cfg.RequestTimeout, cfg.Workers
	pub, err := crm.New(cfg.APIEndpoint, copts)
	if err != nil {
		return err
	}
	// /healthz answers while the process runs, from here on; /readyz
	// says what the start waits for.
	obs, start, stopMetrics, err := serveMetrics(cfg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	defer context.AfterFunc(ctx, func() { start.stopping.Store(true) })()
	// The counts the status and the metrics read are tidied by the
	// integrators (see postgres.DB.FoldCounts).
	opts := cfg.store(log)
	opts.FoldCounts = true
	db, err := postgres.Open(ctx, cfg.DSN, opts)
	if err != nil {
		if ctx.Err() != nil { // SIGINT or SIGTERM while it waited for the database
			return stoppedWhileStarting(log, "connecting to the database")
		}
		return err
	}
	defer db.Close()
	start.connected(db)
	ln, err := postgres.Listen(listenDSN, cfg.store(log), func(event postgres.ListenerEvent, err error) {
		switch event {
		case postgres.ListenerDisconnected:
			log.Warn("listener lost its database connection; reconnecting", "error", err)
		case postgres.ListenerReconnected:
			log.Info("listener reconnected; looking for due records")
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return stoppedWhileStarting(log, "listening for notifications")
		}
		return err
	}
	defer ln.Close()
	// Behind a transaction-pooling proxy, LISTEN succeeds and no
	// notification comes: tell, and poll.
	wake := ln.Wake()
	heard, err := ln.Hears(ctx, db, selfTestWithin)
	switch {
	case ctx.Err() != nil:
		return stoppedWhileStarting(log, "testing whether notifications reach it")
	case err != nil:
		log.Warn("could not test whether notifications reach this integrator; relying on them, and on POLL_INTERVAL", "error", err)
	case !heard:
		log.Warn("notifications do not reach this integrator: LISTEN_DSN (default: DSN) goes through a transaction-pooling proxy, such as PgBouncer in transaction mode, or notifications are lost on their way; looking for due records every POLL_INTERVAL instead; point LISTEN_DSN at the server, or at a session-mode pool, to be woken at once",
			"poll_interval", cfg.PollInterval, "listen_dsn", postgres.Redact(listenDSN), "waited", selfTestWithin)
		ln.Close()
		ln, wake = nil, nil
	}
	start.listens(ln)
	defer stopMetrics() // before the listener and the database close

	if err := checkCRM(ctx, cfg.APIEndpoint); err != nil && ctx.Err() == nil {
		log.Warn(err.Error())
		if obs != nil {
			obs.SetCRMUp(false)
		}
	}

	dcfg := deliver.Config{
		Workers:        cfg.Workers,
		PollInterval:   cfg.PollInterval,
		RetryDelay:     cfg.RetryDelay,
		RetryMaxDelay:  cfg.RetryMaxDelay,
		RequestTimeout: cfg.RequestTimeout,
		Lease:          cfg.Lease,
		Wake:           wake,
		Logger:         log,
		MaxAttempts:    cfg.MaxAttempts,
		GiveUpOn:       cfg.giveUpOn(),
		MaxRate:        cfg.MaxRate,
		FixedRate:      !cfg.AdaptiveRate,
	}
	if obs != nil {
		dcfg.Observer = obs
	}
	q := db.Queue(owner)
	defer q.Close()
	return deliver.New(q, pub, dcfg).Run(ctx)
}

// stoppedWhileStarting logs a stop asked for (SIGINT or SIGTERM) before
// delivery began, while the daemon was doing what: nothing was claimed,
// so the stop is clean, as one during delivery is.
func stoppedWhileStarting(log *slog.Logger, doing string) error {
	log.Info("integrator stopped before delivering: asked to stop while " + doing)
	return nil
}

// selfTestWithin bounds the wait at start for a notification the
// integrator sends itself (see postgres.Listener.Hears): one goes through
// a server in milliseconds.
const selfTestWithin = 3 * time.Second

// instanceName names this process in the leases it takes: unique across
// hosts and restarts.
func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func redacted(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "***"
}
