package main

import (
	"errors"
	"log/slog"
	"time"

	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

// config is the parser's environment.
type config struct {
	DSN              string        `envconfig:"DSN" default:"postgres://postgres@localhost:5432/postgres?sslmode=disable" desc:"PostgreSQL connection string"`
	ChunkSize        int           `envconfig:"CHUNK_SIZE" default:"10000" desc:"rows stored per transaction"`
	MaxRecordBytes   int           `envconfig:"MAX_RECORD_BYTES" default:"1048576" desc:"largest record accepted, in bytes; larger ones are rejected"`
	Rejects          string        `envconfig:"REJECTS" desc:"path of a CSV file (line,reason,record) to write rejected records to"`
	ConnectTimeout   time.Duration `envconfig:"CONNECT_TIMEOUT" default:"10s" desc:"how long to retry an unreachable database before giving up, at start and when a chunk's connection is lost"`
	DBTimeout        time.Duration `envconfig:"DB_TIMEOUT" default:"30s" desc:"longest wait for an answer of the database; then the connection is closed and the chunk stored again on a new one"`
	ProgressInterval time.Duration `envconfig:"PROGRESS_INTERVAL" default:"5s" desc:"how often to log progress when standard error is not a terminal or LOG_FORMAT is json"`
	Seed             int64         `envconfig:"SEED" default:"1" desc:"seed of the generated customers of 'parser N'"`
	cli.Logging
}

// store returns the options of the parser's store; log receives what it
// does by itself (chunks stored again, lost sessions ended).
func (c config) store(log *slog.Logger) postgres.Options {
	return postgres.Options{Wait: c.ConnectTimeout, Timeout: c.DBTimeout, App: "goquiz parser", Reap: true, Logger: log}
}

// Validate checks the values of the configuration.
func (c config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("DSN is empty"))
	}
	if c.ChunkSize < 1 || c.ChunkSize > 1_000_000 {
		errs = append(errs, errors.New("CHUNK_SIZE must be between 1 and 1000000"))
	}
	if c.MaxRecordBytes < 64 || c.MaxRecordBytes > 64<<20 {
		errs = append(errs, errors.New("MAX_RECORD_BYTES must be between 64 and 67108864"))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, errors.New("CONNECT_TIMEOUT must not be negative"))
	}
	if c.DBTimeout < time.Second {
		errs = append(errs, errors.New("DB_TIMEOUT must be at least 1s"))
	}
	if c.ProgressInterval <= 0 {
		errs = append(errs, errors.New("PROGRESS_INTERVAL must be positive"))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
