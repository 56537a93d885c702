// Command integrator is a daemon that delivers the customers stored by the
// parser to the CRM, one record per request, retrying until each is
// accepted, and never sending one twice unless an integrator crashed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"goquiz/common"
	"goquiz/impl/crm"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

const synopsis = `Usage: integrator

Delivers every stored customer to the CRM at API_ENDPOINT: POST, one JSON
record per request, with an Idempotency-Key that is the same on every attempt.
A 200 marks the record sent; anything else is retried with exponential backoff
until it succeeds. Wakes on the parser's notifications; several integrators
may run against one database. SIGINT or SIGTERM: stop claiming, finish the
requests in flight, release the rest, exit 0.`

func main() {
	flags := flag.NewFlagSet("integrator", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var cfg config
	if err := flags.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.Usage(os.Stdout, synopsis, &cfg)
			os.Exit(0)
		}
		cli.Fatal("integrator", cli.ExitUsage, fmt.Errorf("%v (see integrator -h)", err))
	}
	if flags.NArg() != 0 {
		cli.Fatal("integrator", cli.ExitUsage, errors.New("takes no arguments: it is configured by the environment (see integrator -h)"))
	}
	if err := cli.LoadEnv(&cfg); err != nil {
		cli.Fatal("integrator", cli.ExitUsage, err)
	}
	if err := cfg.validate(); err != nil {
		cli.Fatal("integrator", cli.ExitUsage, fmt.Errorf("invalid configuration: %w", err))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.level()}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		cli.Fatal("integrator", cli.ExitFailure, err)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	owner := instanceName()
	listenDSN := cfg.ListenDSN
	if listenDSN == "" {
		listenDSN = cfg.DSN
	}
	log.Info("integrator starting",
		"instance", owner,
		"dsn", postgres.Redact(cfg.DSN),
		"listen_dsn", postgres.Redact(listenDSN),
		"api_endpoint", cfg.APIEndpoint,
		"api_token", redacted(cfg.APIToken),
		"workers", cfg.Workers,
		"poll_interval", cfg.PollInterval,
		"retry_delay", cfg.RetryDelay,
		"retry_max_delay", cfg.RetryMaxDelay,
		"request_timeout", cfg.RequestTimeout,
		"lease", cfg.Lease)

	pub, err := crm.New(cfg.APIEndpoint, crm.Options{Token: cfg.APIToken, Timeout: cfg.RequestTimeout, MaxConns: cfg.Workers})
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DSN, cfg.ConnectTimeout)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := postgres.Listen(listenDSN, max(cfg.ConnectTimeout, 5*time.Second), func(event string, err error) {
		switch event {
		case "disconnected":
			log.Warn("listener lost its database connection; reconnecting", "error", errText(err))
		case "reconnected":
			log.Info("listener reconnected; looking for due records")
		}
	})
	if err != nil {
		return err
	}
	defer ln.Close()

	d := common.NewDeliverer(db.Queue(owner, cfg.Lease), pub, common.DeliverConfig{
		Workers:        cfg.Workers,
		PollInterval:   cfg.PollInterval,
		RetryDelay:     cfg.RetryDelay,
		RetryMaxDelay:  cfg.RetryMaxDelay,
		RequestTimeout: cfg.RequestTimeout,
		Lease:          cfg.Lease,
		Wake:           ln.Wake(),
		Logger:         log,
	})
	return d.Run(ctx)
}

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

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
