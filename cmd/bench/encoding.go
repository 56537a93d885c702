package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"goquiz/common"
	"goquiz/impl/gen"
)

// exportColumns is the parser's COLUMNS for the export written by
// writeExports.
const exportColumns = "id=Customer ID,first_name=First Name,last_name=Last Name,email=E-mail Address,phone=Phone number"

// exportEnv is the parser's environment for that export.
var exportEnv = []string{"ENCODING=windows-1252", "DELIMITER=;", "COLUMNS=" + exportColumns}

// encoding measures the targets of real exports (issue 25): the parser on
// a Windows-1252 semicolon export with its own column names against the
// same rows as UTF-8 with the default settings, its peak RSS on the export
// gzip-compressed, and the parser with the default settings against psql
// \copy into a plain table of the five columns with its primary key.
func (b *bench) encoding(ctx context.Context) ([]row, error) {
	utf8File := b.file("enc-utf8.csv")
	export := b.file("enc-export.csv")
	if err := writeExports(utf8File, export, b.n); err != nil {
		return nil, err
	}
	// The two compared take turns at running first after the reference,
	// so that neither always follows it.
	runs, err := b.rounds(ctx, 2, func(i int, r []sample) {
		b.logf("encoding run %d: psql \\copy into a plain table %s, parser utf-8 %s (CPU %s), windows-1252 export %s (CPU %s), gzip %s (%s), utf-8 through 2 connections %s",
			i, r[0].elapsed.Round(1e7), r[1].elapsed.Round(1e7), r[1].cpu.Round(1e7), r[2].elapsed.Round(1e7), r[2].cpu.Round(1e7),
			r[3].elapsed.Round(1e7), mib(r[3].rss), r[4].elapsed.Round(1e7))
	},
		func(ctx context.Context) (sample, error) { return b.copyPlain(ctx, utf8File) },
		func(ctx context.Context) (sample, error) { return b.parseWith(ctx, utf8File) },
		func(ctx context.Context) (sample, error) { return b.parseWith(ctx, export, exportEnv...) },
		func(ctx context.Context) (sample, error) { return b.parseWith(ctx, export+".gz", exportEnv...) },
		func(ctx context.Context) (sample, error) { return b.parseWith(ctx, utf8File, "LOAD_CONNECTIONS=2") },
	)
	if err != nil {
		return nil, err
	}
	plain, utf, exp, gz := runs[0], runs[1], runs[2], runs[3]
	p, u, e, two := median(plain), median(utf), median(exp), median(runs[4])
	uc, ec := medianCPU(utf), medianCPU(exp)
	peak := maxRSSOf(gz)
	rows := []row{
		{
			target: fmt.Sprintf("E1. ingest %d rows, windows-1252 ; mapped vs utf-8 defaults", b.n),
			measured: fmt.Sprintf("utf-8 %s (%s), windows-1252 %s (%s); parser CPU %s vs %s",
				u.Round(1e7), rate(b.n, u), e.Round(1e7), rate(b.n, e), uc.Round(1e7), ec.Round(1e7)),
			ratio: e.Seconds() / u.Seconds(), bound: "<= 1.10",
		},
		{
			target:   fmt.Sprintf("E2. parser peak RSS, %d rows, windows-1252 gzip", b.n),
			measured: fmt.Sprintf("%s (runs: %s)", mib(peak), durs(gz)),
			ratio:    float64(peak) / (64 << 20), bound: "<= 64 MiB",
			pass: peak <= 64<<20,
		},
		{
			target:   fmt.Sprintf("E3. ingest %d rows, defaults, vs psql \\copy into a plain table", b.n),
			measured: fmt.Sprintf("copy %s (%s), parser %s (%s)", p.Round(1e7), rate(b.n, p), u.Round(1e7), rate(b.n, u)),
			ratio:    u.Seconds() / p.Seconds(), bound: "<= 1.25",
		},
		{
			target:   "E3. the same, LOAD_CONNECTIONS=2 (not the default)",
			measured: fmt.Sprintf("copy %s (%s), parser %s (%s)", p.Round(1e7), rate(b.n, p), two.Round(1e7), rate(b.n, two)),
			ratio:    two.Seconds() / p.Seconds(), bound: "<= 1.25",
		},
	}
	rows[0].pass = rows[0].ratio <= 1.10
	rows[2].pass = rows[2].ratio <= 1.25
	rows[3].pass = rows[3].ratio <= 1.25
	return rows, nil
}

// copyPlain loads file with psql \copy into a table of the five columns
// and its primary key, without goquiz's other columns, indexes and
// triggers.
func (b *bench) copyPlain(ctx context.Context, file string) (sample, error) {
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return sample{}, err
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return sample{}, err
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE plain (id bigint PRIMARY KEY, first_name text NOT NULL,
		last_name text NOT NULL, email text NOT NULL, phone text NOT NULL)`)
	db.Close()
	if err != nil {
		return sample{}, fmt.Errorf("create the plain table: %w", err)
	}
	return b.psqlCopy(ctx, dsn, "plain", file)
}

// parseWith loads file with the parser, with env added to its
// environment, into an empty database, and returns its wall time, peak
// RSS and CPU time: on a machine others share, the CPU time shows the
// parser's own cost, which the wall time hides in the noise.
func (b *bench) parseWith(ctx context.Context, file string, env ...string) (sample, error) {
	dsn, err := b.env.freshDB(ctx)
	if err != nil {
		return sample{}, err
	}
	return measure(ctx, append([]string{"DSN=" + dsn}, env...), b.parser(), file)
}

// writeExports writes the same n generated customers twice: to utf8Path
// as UTF-8 with commas and the default header, and to exportPath as Excel
// writes a CSV in Western Europe, Windows-1252 with semicolons, CRLF and
// its own column names, also gzip-compressed to exportPath.gz. Names that
// Windows-1252 cannot write, and every tenth, are replaced by accented
// ones it can.
func writeExports(utf8Path, exportPath string, n int64) error {
	firsts := []string{"François", "Zoë", "Œdipe", "Jörg", "Ångström", "Æsa; Bø"}
	lasts := []string{"Groß", "Müller-Lüdenscheidt", "Cœur €", "O\"Brien", "Š. Žák"}
	var utf, exp, gz fileWriter
	for _, f := range []struct {
		w    *fileWriter
		path string
	}{{&utf, utf8Path}, {&exp, exportPath}, {&gz, exportPath + ".gz"}} {
		if err := f.w.create(f.path); err != nil {
			return err
		}
	}
	zw := gzip.NewWriter(gz.buf)
	both := io.MultiWriter(exp.buf, zw)
	enc := charmap.Windows1252.NewEncoder()
	line := func(c common.Customer, sep, eol string, quote func(string) string) string {
		return fmt.Sprint(c.ID) + sep + quote(c.FirstName) + sep + quote(c.LastName) + sep + quote(c.Email) + sep + quote(c.Phone) + eol
	}
	fmt.Fprint(utf.buf, gen.Header+"\n")
	fmt.Fprint(both, "Customer ID;First Name;Last Name;E-mail Address;Phone number\r\n")
	for c := range gen.Customers(n, 25) {
		if _, err := enc.String(c.FirstName); err != nil || c.ID%10 == 0 {
			c.FirstName = firsts[c.ID%int64(len(firsts))]
		}
		if _, err := enc.String(c.LastName); err != nil || c.ID%10 == 5 {
			c.LastName = lasts[c.ID%int64(len(lasts))]
		}
		fmt.Fprint(utf.buf, line(c, ",", "\n", quoteFor(",")))
		b, err := enc.String(line(c, ";", "\r\n", quoteFor(";")))
		if err != nil {
			return fmt.Errorf("encode customer %d: %w", c.ID, err)
		}
		if _, err := io.WriteString(both, b); err != nil {
			return fmt.Errorf("write %s: %w", exportPath, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write %s.gz: %w", exportPath, err)
	}
	for _, w := range []*fileWriter{&utf, &exp, &gz} {
		if err := w.close(); err != nil {
			return err
		}
	}
	return nil
}

// quoteFor returns a function quoting a CSV field that holds sep, a quote
// or a line break.
func quoteFor(sep string) func(string) string {
	return func(s string) string {
		if !strings.ContainsAny(s, sep+"\"\r\n") {
			return s
		}
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
}

// fileWriter is a buffered file being written.
type fileWriter struct {
	f   *os.File
	buf *bufio.Writer
}

func (w *fileWriter) create(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w.f, w.buf = f, bufio.NewWriterSize(f, 1<<20)
	return nil
}

func (w *fileWriter) close() error {
	if err := w.buf.Flush(); err != nil {
		w.f.Close()
		return fmt.Errorf("write %s: %w", w.f.Name(), err)
	}
	return w.f.Close()
}
