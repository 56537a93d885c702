// Command parser loads a CSV file of customers into PostgreSQL in chunks and
// notifies the integrators as each chunk commits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"goquiz/common"
	"goquiz/impl/csv"
	"goquiz/impl/fake"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

const synopsis = `Usage: parser PATH | - | N

Loads customers from a CSV file into PostgreSQL, in chunks, and notifies the
integrators as each chunk commits.

  PATH  a CSV file with the header id,first_name,last_name,email,phone
        (any order, any case, extra columns ignored; COLUMNS names others);
        gzip input is read transparently, in the ENCODING and with the
        DELIMITER set
  -     read the CSV from standard input
  N     a positive integer that names no file: generate N mock customers

Bad rows are rejected with their line number and the rest still loads; ids
already stored are counted as duplicates and skipped. Exit status: 0 when the
input was read to its end (rejected rows included), 1 on a fatal error (the
chunk in progress is rolled back, committed chunks stay), 2 on bad usage or
configuration.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the parser with the command line args and returns its exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	out, args, code, ok := cli.Start("parser", synopsis, &cfg, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(args) != 1 {
		return out.Fail(cli.ExitUsage, errors.New("expected one argument: a CSV file, - for standard input, or a number of customers to generate (see parser -h)"))
	}
	slog.SetDefault(out.Logger(slog.LevelInfo))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := load(ctx, cfg, args[0], out, stdout, stderr); err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted: the chunk in progress was rolled back, committed chunks stay; rerun to finish")
		}
		return out.Fail(cli.ExitFailure, err)
	}
	return cli.ExitOK
}

// load loads the input arg names into the database, reporting progress on
// stderr and the summary on stdout.
func load(ctx context.Context, cfg config, arg string, out *cli.Output, stdout, stderr io.Writer) error {
	in, err := openInput(arg)
	if err != nil {
		return err
	}
	defer in.close()
	opts, err := cfg.input()
	if err != nil {
		return err // checked by Validate already
	}
	r := in.r
	if in.generate > 0 {
		pr, pw := io.Pipe()
		defer pr.Close()
		go func() { pw.CloseWithError(fake.WriteCSV(pw, in.generate, cfg.Seed)) }()
		r = pr
		// Generated customers are written as UTF-8 CSV with commas and
		// the default header, whatever the settings for files.
		opts = csv.Options{MaxRecordBytes: cfg.MaxRecordBytes}
	}
	opts.Size = in.size
	src, err := csv.NewReader(r, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}

	db, err := postgres.Open(ctx, cfg.DSN, cfg.store(out.Logger(slog.LevelInfo)))
	if err != nil {
		return err
	}
	defer db.Close()

	var rejects common.RejectWriter
	if cfg.Rejects != "" {
		f, err := os.Create(cfg.Rejects)
		if err != nil {
			return fmt.Errorf("create rejects file: %w", err)
		}
		defer f.Close()
		rw, err := csv.NewRejectWriter(f)
		if err != nil {
			return err
		}
		defer rw.Flush()
		rejects = rw
	}

	start := time.Now()
	prog := newProgress(stderr, out, cfg.ProgressInterval, src)
	st, err := common.Load(ctx, src, db.Writer(), rejects, common.LoadOptions{
		ChunkSize: cfg.ChunkSize,
		Progress:  prog.update,
	})
	prog.finish()
	if rw, ok := rejects.(*csv.RejectWriter); ok {
		if ferr := rw.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w (committed before the error: %d stored, %d duplicates; rerun the same input to finish: what is stored is skipped)", in.name, err, st.Stored, st.Duplicates)
	}
	fmt.Fprintf(stdout, "read %d rows: %d stored, %d duplicates, %d rejected in %s (%.0f rows/s); %s\n",
		st.Read, st.Stored, st.Duplicates, st.Rejected, elapsed.Round(time.Millisecond),
		float64(st.Read)/max(elapsed.Seconds(), 1e-9), src.Describe())
	return nil
}
