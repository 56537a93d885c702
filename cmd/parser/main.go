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
	"strings"
	"syscall"
	"time"

	"goquiz/common"
	"goquiz/common/load"
	"goquiz/impl/csv"
	"goquiz/impl/gen"
	"goquiz/impl/postgres"
	"goquiz/internal/cli"
)

const synopsis = `Usage: parser [--dry-run] PATH | - | N

Loads customers from a CSV file into PostgreSQL, in chunks, and notifies the
integrators as each chunk commits.

  --dry-run  read the input against the stored customers and print how many
        rows would be new, changed, unchanged, duplicates and rejected in
        SYNC_MODE; store and notify nothing (also taken right after the
        input, as the last argument)

  PATH  a CSV file with the header id,first_name,last_name,email,phone
        (any order, any case, extra columns ignored; COLUMNS names others);
        gzip input is read transparently, in the ENCODING and with the
        DELIMITER set
  -     read the CSV from standard input
  N     a positive integer that names no file: generate N mock customers

Bad rows are rejected with their line number and the rest still loads; ids
already stored are counted as duplicates and skipped (SYNC_MODE=insert), or
compared with the stored values, a change stored as a new version and
delivered again (SYNC_MODE=upsert). Exit status: 0 when the
input was read to its end (rejected rows included), 1 on a fatal error (the
chunk in progress is rolled back, committed chunks stay), 2 on bad usage or
configuration.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the parser with the command line args and returns its exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	dry, args := cutDryRun(args)
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
	if err := loadFile(ctx, cfg, args[0], dry, out, stdout, stderr); err != nil {
		if ctx.Err() != nil && !errors.Is(err, errInterrupted) {
			err = errInterrupted
		}
		if errors.As(err, new(usageError)) {
			return out.Fail(cli.ExitUsage, err)
		}
		return out.Fail(cli.ExitFailure, err)
	}
	return cli.ExitOK
}

// errInterrupted is the error of a load that SIGINT or SIGTERM stopped.
var errInterrupted = errors.New("interrupted: the chunk in progress was rolled back, committed chunks stay; rerun to finish")

// cutDryRun returns whether args ask for a dry run (--dry-run or -dry-run
// before the input, or right after it as its last argument: a dry run
// stores nothing, so reading `parser PATH --dry-run` as one is safe), and
// args without it.
func cutDryRun(args []string) (bool, []string) {
	isDry := func(a string) bool { return a == "--dry-run" || a == "-dry-run" }
	for i, a := range args {
		switch {
		case isDry(a):
			return true, append(args[:i:i], args[i+1:]...)
		case a == "--":
			return false, args
		case a == "-" || !strings.HasPrefix(a, "-"):
			if len(args) == i+2 && isDry(args[i+1]) {
				return true, args[: i+1 : i+1]
			}
			return false, args
		}
	}
	return false, args
}

// loadFile loads the input arg names into the database (or, when dry is set,
// counts what loading it would do), reporting progress on stderr and the
// summary on stdout.
func loadFile(ctx context.Context, cfg config, arg string, dry bool, out *cli.Output, stdout, stderr io.Writer) error {
	mode, err := common.ParseSyncMode(cfg.SyncMode)
	if err != nil {
		return err // checked by Validate already
	}
	in, err := openInput(arg)
	if err != nil {
		return err
	}
	defer in.close()
	if cfg.Rejects != "" {
		if err := checkRejects(cfg.Rejects, in); err != nil {
			return err
		}
	}
	opts, err := cfg.input()
	if err != nil {
		return err // checked by Validate already
	}
	r := in.r
	if in.generate > 0 {
		pr, pw := io.Pipe()
		defer pr.Close()
		go func() { pw.CloseWithError(gen.WriteCSV(pw, in.generate, cfg.Seed)) }()
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

	storeOpts := cfg.store(out.Logger(slog.LevelInfo))
	storeOpts.NoMigrate = dry // a dry run writes nothing, the schema included
	db, err := postgres.Open(ctx, cfg.DSN, storeOpts)
	if err != nil {
		return err
	}
	defer db.Close()

	var rejects common.RejectWriter
	var rf *rejectsFile
	if cfg.Rejects != "" {
		if rf, err = createRejects(cfg.Rejects); err != nil {
			return err
		}
		defer rf.f.Close()
		rejects = rf
	}

	// Each writer stores its chunks on a connection of its own; an
	// upsert's writer keeps the ids read so far, so one stores all.
	n := cfg.LoadConnections
	if dry || mode == common.SyncUpsert {
		n = 1
	}
	type writer interface {
		common.ChunkWriter
		Close(context.Context) error
	}
	ws, chunkWriters := make([]writer, n), make([]common.ChunkWriter, n)
	for i := range ws {
		if dry {
			if ws[i], err = db.DryRun(ctx, mode); err != nil {
				return err
			}
		} else {
			ws[i] = db.SyncWriter(mode)
		}
		chunkWriters[i] = ws[i]
	}
	defer func() {
		// The table of the ids a load read goes, interrupted or not.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.DBTimeout)
		defer cancel()
		for _, w := range ws {
			if err := w.Close(cctx); err != nil {
				out.Logger(slog.LevelInfo).Warn("could not drop the table of the ids read; the next load drops it after a day", "error", err)
			}
		}
	}()

	start := time.Now()
	prog := newProgress(stderr, out, cfg.ProgressInterval, src)
	prog.outcomes, prog.dry = dry || mode == common.SyncUpsert, dry
	st, err := load.Run(ctx, src, chunkWriters, rejects, load.Options{
		ChunkSize: cfg.ChunkSize,
		Progress:  prog.update,
	})
	prog.finish()
	if rf != nil {
		if cerr := rf.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !dry {
			if mode == common.SyncUpsert {
				return fmt.Errorf("%w (committed: %d new, %d changed, %d unchanged, %d duplicates%s)", errInterrupted, st.Stored, st.Changed, st.Unchanged, st.Duplicates, maybeStored(st, mode))
			}
			return fmt.Errorf("%w (committed: %d stored, %d duplicates%s)", errInterrupted, st.Stored, st.Duplicates, maybeStored(st, mode))
		}
		if dry {
			return fmt.Errorf("%s: dry run: %w", in.name, err)
		}
		rerun := "rerun the same input to finish"
		if errors.As(err, new(*load.ReadError)) {
			rerun = "the input is broken there: rerun it repaired or complete to finish"
		}
		if mode == common.SyncUpsert {
			return fmt.Errorf("%s: %w (committed before the error: %d new, %d changed, %d unchanged, %d duplicates%s; %s: what is stored is unchanged)", in.name, err, st.Stored, st.Changed, st.Unchanged, st.Duplicates, maybeStored(st, mode), rerun)
		}
		return fmt.Errorf("%s: %w (committed before the error: %d stored, %d duplicates%s; %s: what is stored is skipped)", in.name, err, st.Stored, st.Duplicates, maybeStored(st, mode), rerun)
	}
	if _, err := fmt.Fprintf(stdout, "%s in %s (%.0f rows/s); %s\n", summary(st, mode, dry), elapsed.Round(time.Millisecond),
		float64(st.Read)/max(elapsed.Seconds(), 1e-9), src.Describe()); err != nil {
		// A dry run's counts are its whole result: lost, the run failed.
		// A load read to its end exits 0 all the same (the contract's
		// exit status), its summary said on standard error instead.
		if dry {
			return fmt.Errorf("%s: dry run: write its counts to standard output: %w", in.name, err)
		}
		fmt.Fprintf(stderr, "parser: %s: loaded to its end, but its summary could not be written to standard output: %v (%s)\n", in.name, err, summary(st, mode, dry))
	}
	return nil
}

// maybeStored says, after a load in mode failed, how many more customers
// may have been stored than it counts as committed: those of chunks whose
// commit answer was lost and could not be checked. It is "" when there
// are none.
func maybeStored(st load.Stats, mode common.SyncMode) string {
	switch {
	case st.MaybeStored == 0:
		return ""
	case mode == common.SyncUpsert:
		return fmt.Sprintf(", and %d more new or changed may have been: the answer to their commit was lost", st.MaybeStored)
	}
	return fmt.Sprintf(", and %d more may have been: the answer to their commit was lost", st.MaybeStored)
}

// summary describes what a load in mode did, or a dry run found.
func summary(st load.Stats, mode common.SyncMode, dry bool) string {
	switch {
	case dry:
		return fmt.Sprintf("dry run (SYNC_MODE=%s), nothing stored: read %d rows: %d new, %d changed, %d unchanged, %d duplicates, %d rejected",
			mode, st.Read, st.Stored, st.Changed, st.Unchanged, st.Duplicates, st.Rejected)
	case mode == common.SyncUpsert:
		return fmt.Sprintf("read %d rows: %d stored (%d new, %d changed), %d unchanged, %d duplicates, %d rejected",
			st.Read, st.Stored+st.Changed, st.Stored, st.Changed, st.Unchanged, st.Duplicates, st.Rejected)
	}
	return fmt.Sprintf("read %d rows: %d stored, %d duplicates, %d rejected", st.Read, st.Stored, st.Duplicates, st.Rejected)
}
