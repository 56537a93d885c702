// Command httpapi serves the mock CRM API (see goquiz/impl/mockcrm),
// configured from the environment: run it with -h for the variables.
//
// It exits 0 after a graceful shutdown on SIGINT or SIGTERM, 1 when it
// cannot listen or serve, and 2 on invalid configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"goquiz/impl/mockcrm"
	"goquiz/internal/cli"
)

// Server timeouts.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the mock CRM with the command line args and returns its exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	out, args, code, ok := cli.Start("httpapi", synopsis, &cfg, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(args) > 0 {
		return out.Fail(cli.ExitUsage, fmt.Errorf("unexpected argument %q (configuration is read from the environment, see httpapi -h)", args[0]))
	}
	logger := out.Logger(slog.LevelInfo)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger); err != nil {
		return out.Fail(cli.ExitFailure, err)
	}
	return cli.ExitOK
}

// serve serves the mock CRM until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		// net.OpError: "listen tcp :8080: bind: address already in use"
		return fmt.Errorf("%w — set API_LISTEN to a free host:port", err)
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "httpapi starting", append(cfg.logValue(), slog.String("addr", ln.Addr().String()))...)

	mock := mockcrm.New(cfg.withMode(cfg.mock()))
	stopMetrics, err := serveMetrics(cfg.MetricsListen, mock, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	// Requests waiting on injected latency or hanging end when shutdown
	// starts, answered 503, rather than holding it up.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           mock,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(cancelBase)

	statsCtx, stopStats := context.WithCancel(context.Background())
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		mock.LogStats(statsCtx, logger, cfg.LogInterval)
	}()
	defer func() {
		stopStats()
		<-statsDone
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("httpapi shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("httpapi stopped")
	return nil
}
