package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"goquiz/common/deliver"
	"goquiz/impl/crm"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

// config is the integrator's environment.
type config struct {
	DSN            string        `envconfig:"DSN" desc:"PostgreSQL connection string"`
	ListenDSN      string        `envconfig:"LISTEN_DSN" desc:"connection string for LISTEN when DSN goes through a transaction-pooling proxy (default: DSN)"`
	APIEndpoint    string        `envconfig:"API_ENDPOINT" desc:"URL each customer is sent to; {id}, {email} (any field) in its path or query stand for the record's value"`
	APIToken       string        `envconfig:"API_TOKEN" desc:"sent as Authorization: Bearer TOKEN when set; never logged"`
	Workers        int           `envconfig:"WORKERS" desc:"requests in flight at once"`
	PollInterval   time.Duration `envconfig:"POLL_INTERVAL" desc:"how often to look for due records when no notification comes"`
	RetryDelay     time.Duration `envconfig:"RETRY_DELAY" desc:"delay before the first retry of a record; doubles per failure, each drawn at random from its upper half (0.5-1x)"`
	RetryMaxDelay  time.Duration `envconfig:"RETRY_MAX_DELAY" desc:"cap of the retry delay"`
	RequestTimeout time.Duration `envconfig:"REQUEST_TIMEOUT" desc:"time limit of one request to the CRM"`
	Lease          time.Duration `envconfig:"LEASE" desc:"how long claimed records stay reserved before another integrator may take them over after a crash"`
	ConnectTimeout time.Duration `envconfig:"CONNECT_TIMEOUT" desc:"how long to retry an unreachable database at start"`
	DBTimeout      time.Duration `envconfig:"DB_TIMEOUT" desc:"longest wait for an answer of the database; then the connection is closed and a new one used"`
	LogLevel       string        `envconfig:"LOG_LEVEL" desc:"debug, info, warn or error"`
	MaxAttempts    int           `envconfig:"MAX_ATTEMPTS" desc:"failed attempts after which a record is given up (state failed, see integrator retry-failed); 0: retry until delivered"`
	MaxRate        float64       `envconfig:"MAX_RATE" desc:"most requests per second to the CRM across all workers of this process, a decimal such as 2.5; below it the rate adapts to the CRM's 429s; 0: no cap"`
	AdaptiveRate   bool          `envconfig:"ADAPTIVE_RATE" desc:"adapt the rate of requests to a CRM's rate limit (true) or leave pacing to MAX_RATE and each answer's Retry-After alone (false)"`
	MetricsListen  string        `envconfig:"METRICS_LISTEN" desc:"host:port serving /metrics (Prometheus), /healthz and /readyz, e.g. :9090; empty: none"`
	Request
	cli.Logging
}

// defaultConfig is the integrator's defaults: the value of each variable
// that is unset, shown by -h and in docs/configuration.md.
func defaultConfig() config {
	return config{
		DSN:            cli.DefaultDSN,
		APIEndpoint:    "http://localhost:8080/customers",
		Workers:        deliver.DefaultWorkers,
		PollInterval:   deliver.DefaultPollInterval,
		RetryDelay:     deliver.DefaultRetryDelay,
		RetryMaxDelay:  deliver.DefaultRetryMaxDelay,
		RequestTimeout: deliver.DefaultRequestTimeout,
		Lease:          deliver.DefaultLease,
		ConnectTimeout: cli.DefaultConnectTimeout,
		DBTimeout:      postgres.DefaultTimeout,
		LogLevel:       "info",
		AdaptiveRate:   true,
		Request: Request{
			APIMethod:         http.MethodPost,
			IdempotencyHeader: crm.DefaultIdempotencyHeader,
			SuccessStatus:     strconv.Itoa(http.StatusOK),
		},
		Logging: cli.DefaultLogging,
	}
}

// store returns the options of the integrator's store; log receives what
// it does by itself.
func (c config) store(log *slog.Logger) postgres.Options {
	return postgres.Options{ConnectTimeout: c.ConnectTimeout, Timeout: c.DBTimeout, App: "goquiz integrator", EndLostLoads: true, Logger: log}
}

// Validate checks the values of the configuration.
func (c config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("DSN is empty"))
	} else if err := postgres.CheckDSN(c.DSN); err != nil {
		errs = append(errs, fmt.Errorf("DSN %w", err))
	}
	if c.ListenDSN != "" {
		if err := postgres.CheckDSN(c.ListenDSN); err != nil {
			errs = append(errs, fmt.Errorf("LISTEN_DSN %w", err))
		}
	}
	if err := crm.CheckToken(c.APIToken); err != nil {
		errs = append(errs, fmt.Errorf("API_TOKEN %w", err))
	}
	if err := crm.CheckProxy(c.APIEndpoint); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.APIEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("API_ENDPOINT %q is not an http:// or https:// URL", crm.Redacted(c.APIEndpoint)))
	} else if err := crm.CheckEndpoint(c.APIEndpoint); err != nil {
		errs = append(errs, fmt.Errorf("API_ENDPOINT: %w", err))
	}
	if _, err := c.crmOptions(); err != nil {
		errs = append(errs, err)
	}
	if c.Workers < 1 || c.Workers > 4096 {
		errs = append(errs, errors.New("WORKERS must be between 1 and 4096"))
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"POLL_INTERVAL", c.PollInterval}, {"RETRY_DELAY", c.RetryDelay}, {"RETRY_MAX_DELAY", c.RetryMaxDelay},
		{"REQUEST_TIMEOUT", c.RequestTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.name))
		}
	}
	if c.RetryMaxDelay < c.RetryDelay {
		errs = append(errs, errors.New("RETRY_MAX_DELAY must not be less than RETRY_DELAY"))
	}
	if c.Lease < 300*time.Millisecond {
		errs = append(errs, errors.New("LEASE must be at least 300ms"))
	}
	if !(c.MaxRate >= 0 && c.MaxRate <= math.MaxFloat64) { // also refuses NaN and +Inf
		errs = append(errs, errors.New("MAX_RATE must be a number of requests per second of at least 0 (0: no cap)"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("MAX_ATTEMPTS must not be negative (0: retry until delivered)"))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_LISTEN %q is not host:port (such as :9090)", c.MetricsListen))
		}
	}
	if c.DBTimeout < time.Second {
		errs = append(errs, errors.New("DB_TIMEOUT must be at least 1s"))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, errors.New("CONNECT_TIMEOUT must not be negative"))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q is not one of debug, info, warn, error", c.LogLevel))
	}
	return cli.JoinErrors(errs...)
}

func (c config) level() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return lvl
}
