package main

import (
	"errors"
	"time"

	"goquiz/internal/cli"
)

// config is the parser's environment.
type config struct {
	DSN              string        `envconfig:"DSN" default:"postgres://postgres@localhost:5432/postgres?sslmode=disable" desc:"PostgreSQL connection string"`
	ChunkSize        int           `envconfig:"CHUNK_SIZE" default:"10000" desc:"rows stored per transaction"`
	MaxRecordBytes   int           `envconfig:"MAX_RECORD_BYTES" default:"1048576" desc:"largest record accepted, in bytes; larger ones are rejected"`
	Rejects          string        `envconfig:"REJECTS" desc:"path of a CSV file (line,reason,record) to write rejected records to"`
	ConnectTimeout   time.Duration `envconfig:"CONNECT_TIMEOUT" default:"10s" desc:"how long to retry an unreachable database before giving up"`
	ProgressInterval time.Duration `envconfig:"PROGRESS_INTERVAL" default:"5s" desc:"how often to log progress when standard error is not a terminal or LOG_FORMAT is json"`
	Seed             int64         `envconfig:"SEED" default:"1" desc:"seed of the generated customers of 'parser N'"`
	cli.Logging
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
	if c.ProgressInterval <= 0 {
		errs = append(errs, errors.New("PROGRESS_INTERVAL must be positive"))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
