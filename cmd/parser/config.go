package main

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"goquiz/common"
	"goquiz/common/load"
	"goquiz/impl/csv"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

// config is the parser's environment.
type config struct {
	DSN              string        `envconfig:"DSN" desc:"PostgreSQL connection string"`
	ChunkSize        int           `envconfig:"CHUNK_SIZE" desc:"rows stored per transaction, at most (fewer when their values pass a few MiB)"`
	LoadConnections  int           `envconfig:"LOAD_CONNECTIONS" desc:"chunks stored at once, each in its own transaction on its own connection (SYNC_MODE=insert; upsert and --dry-run store one at a time); 1 stores them one after another; 2 loads faster where the database has a core to spare (docs/performance.md), with one connection and one chunk in memory more"`
	SyncMode         string        `envconfig:"SYNC_MODE" desc:"what a row whose id is stored already does: insert, the values first stored stay (a duplicate); upsert, other values are stored as the customer's next version and delivered again once, the same values are unchanged"`
	MaxRecordBytes   int           `envconfig:"MAX_RECORD_BYTES" desc:"largest record accepted, in bytes; larger ones are rejected"`
	Rejects          string        `envconfig:"REJECTS" desc:"path of a CSV file (line,reason,record) to write rejected records to"`
	Encoding         string        `envconfig:"ENCODING" desc:"character encoding of the input by its WHATWG name: utf-8, windows-1252, iso-8859-15, utf-16 (needs a byte-order mark)... (iso-8859-1 reads as windows-1252, as in browsers); a byte-order mark at the start wins"`
	Delimiter        string        `envconfig:"DELIMITER" desc:"field delimiter of the input: , ; | or a tab (\\t or the tab character)"`
	Columns          string        `envconfig:"COLUMNS" desc:"header names to read fields from, e.g. id=Customer ID,email=E-mail Address (any case; a field not named keeps its own); a bare number (a shell's terminal width) is ignored"`
	ConnectTimeout   time.Duration `envconfig:"CONNECT_TIMEOUT" desc:"how long to retry an unreachable database before giving up, at start and when a chunk's connection is lost"`
	DBTimeout        time.Duration `envconfig:"DB_TIMEOUT" desc:"longest wait for an answer of the database; then the connection is closed and the chunk stored again on a new one"`
	ProgressInterval time.Duration `envconfig:"PROGRESS_INTERVAL" desc:"how often to log progress when standard error is not a terminal or LOG_FORMAT is json"`
	Seed             int64         `envconfig:"SEED" desc:"seed of the generated customers of 'parser N'"`
	cli.Logging
}

// defaultConfig is the parser's defaults: the value of each variable that
// is unset, shown by -h and in docs/configuration.md.
func defaultConfig() config {
	return config{
		DSN:              cli.DefaultDSN,
		ChunkSize:        load.DefaultChunkSize,
		LoadConnections:  1,
		SyncMode:         string(common.SyncInsert),
		MaxRecordBytes:   csv.DefaultMaxRecordBytes,
		Encoding:         "utf-8",
		Delimiter:        ",",
		ConnectTimeout:   cli.DefaultConnectTimeout,
		DBTimeout:        postgres.DefaultTimeout,
		ProgressInterval: 5 * time.Second,
		Seed:             1,
		Logging:          cli.DefaultLogging,
	}
}

// terminalWidth matches a value of COLUMNS that is a shell's terminal
// width (bash sets COLUMNS, and some environments export it), not a
// mapping of columns.
var terminalWidth = regexp.MustCompile(`^\s*[0-9]+\s*$`)

// input returns the options of the CSV reader: the input's encoding,
// delimiter and column names; the error names each variable that is
// wrong.
func (c config) input() (csv.Options, error) {
	opts := csv.Options{MaxRecordBytes: c.MaxRecordBytes}
	var errs []error
	var err error
	if opts.Encoding, err = csv.LookupEncoding(c.Encoding); err != nil {
		errs = append(errs, fmt.Errorf("ENCODING %w", err))
	}
	if opts.Delimiter, err = csv.ParseDelimiter(c.Delimiter); err != nil {
		errs = append(errs, fmt.Errorf("DELIMITER %w", err))
	}
	if !terminalWidth.MatchString(c.Columns) {
		if opts.Columns, err = csv.ParseColumns(c.Columns); err != nil {
			errs = append(errs, fmt.Errorf("COLUMNS: %w", err))
		}
	}
	return opts, cli.JoinErrors(errs...)
}

// store returns the options of the parser's store; log receives what it
// does by itself (chunks stored again, lost sessions ended).
func (c config) store(log *slog.Logger) postgres.Options {
	return postgres.Options{ConnectTimeout: c.ConnectTimeout, Timeout: c.DBTimeout, App: "goquiz parser", EndLostLoads: true, Logger: log}
}

// Validate checks the values of the configuration.
func (c config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("DSN is empty"))
	} else if err := postgres.CheckDSN(c.DSN); err != nil {
		errs = append(errs, fmt.Errorf("DSN %w", err))
	}
	if c.ChunkSize < 1 || c.ChunkSize > 1_000_000 {
		errs = append(errs, errors.New("CHUNK_SIZE must be between 1 and 1000000"))
	}
	if c.LoadConnections < 1 || c.LoadConnections > 8 {
		errs = append(errs, errors.New("LOAD_CONNECTIONS must be between 1 and 8"))
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
	if _, err := c.input(); err != nil {
		errs = append(errs, err)
	}
	if _, err := common.ParseSyncMode(c.SyncMode); err != nil {
		errs = append(errs, fmt.Errorf("SYNC_MODE %w", err))
	}
	if len(errs) > 0 {
		return cli.JoinErrors(errs...)
	}
	return nil
}
