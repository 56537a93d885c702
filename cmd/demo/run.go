package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"goquiz/impl/gen"
	"goquiz/internal/harness"
)

// errInterrupted reports that a signal stopped the demo.
var errInterrupted = errors.New("interrupted")

// errTimeout is the cause of the demo's context ending at -timeout.
var errTimeout = errors.New("timed out")

// demo is one run of the demo: what it started, so that close can stop and
// remove it all.
type demo struct {
	o     options
	out   io.Writer
	start time.Time

	dir    string // temporary directory: bin/, customers.csv, logs/
	logDir string
	bin    string // directory of the three programs

	db            *database
	crm           crm
	httpapi       *child
	integrators   []*child
	parser        *child
	parserStartDB time.Time   // the database's clock when the parser started
	exited        chan *child // children that exited, in order
}

// run runs the demo with o, writing its progress and summary to out. It
// returns nil when the check passed, errCheckFailed when it failed (the
// summary says why), errInterrupted when ctx ended, or another error when
// the demo could not run. Everything it started is stopped and removed
// before it returns.
func run(ctx context.Context, o options, out io.Writer) (err error) {
	d := &demo{o: o, out: out, start: time.Now(), exited: make(chan *child, o.integrators+2)}
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, errTimeout)
	defer cancel()
	defer func() {
		if parent.Err() != nil {
			err = errInterrupted
		}
		d.close(err != nil && !errors.Is(err, errInterrupted))
	}()

	if err := d.setUp(ctx); err != nil {
		if context.Cause(ctx) == errTimeout {
			return fmt.Errorf("timed out after %s (-timeout) while starting: %w", o.timeout, err)
		}
		return err
	}
	r := &result{n: o.n, integrators: o.integrators, mode: o.crm.name, want: o.crm.expect(o.n, o.seed)}
	if !d.watch(ctx, r) {
		return errInterrupted
	}
	if r.delivered {
		d.step("all %s customers delivered: stopping the integrators with SIGTERM", harness.Group(o.n))
		r.integratorCodes = make([]int, len(d.integrators))
		for i, c := range d.integrators {
			r.integratorCodes[i] = c.Stop()
		}
	}
	d.finish(ctx, r)
	r.write(out)
	if len(r.failures()) > 0 {
		return errCheckFailed
	}
	return nil
}

// step prints one line of the demo's own progress.
func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// setUp builds the programs, starts the database, the mock CRM and the
// integrators, generates the CSV file and starts the parser on it.
func (d *demo) setUp(ctx context.Context) error {
	o := d.o
	var faults []string
	for _, k := range []string{"RATE_LIMIT_RPS", "FAIL_RATE", "RATE_LIMIT_RATE", "RETRY_AFTER", "LATENCY", "LATENCY_JITTER", "HANG_RATE", "OUTAGE_EVERY"} {
		if v := setting(crmFaults, k); v != "" {
			faults = append(faults, k+"="+v)
		}
	}
	api := ""
	if o.crm.name != "goquiz" {
		api = " speaking " + o.crm.name + "'s API"
	}
	fmt.Fprintf(d.out, "goquiz demo: %s customers, %d integrators, mock CRM%s %s\n",
		harness.Group(o.n), o.integrators, api, strings.Join(faults, " "))

	var err error
	if d.dir, err = os.MkdirTemp("", "goquiz-demo-"); err != nil {
		return err
	}
	d.logDir = filepath.Join(d.dir, "logs")
	if err := os.Mkdir(d.logDir, 0o755); err != nil {
		return err
	}

	if o.binDir == "" {
		d.step("building parser, integrator and httpapi with the go command")
	}
	if d.bin, err = binaries(ctx, o.binDir, filepath.Join(d.dir, "bin")); err != nil {
		return err
	}

	if o.dsn == "" {
		d.step("starting a throwaway PostgreSQL cluster from the server binaries on this machine")
	}
	if d.db, err = openDatabase(ctx, o, filepath.Join(d.logDir, "postgres.log")); err != nil {
		return err
	}
	d.step("database: %s, customers table empty", d.db.where())

	if err := d.startCRM(ctx); err != nil {
		return err
	}
	d.step("mock CRM (httpapi) listening: POST %s, GET %s/stats", d.crm.endpoint(), d.crm.base)

	template, err := o.crm.writeTemplate(d.dir)
	if err != nil {
		return err
	}
	settings := o.crm.settings(integratorSettings, o.crm.settings(o.crm.integratorEnv, template))
	for i := 1; i <= o.integrators; i++ {
		name := fmt.Sprintf("integrator-%d", i)
		env := childEnv(settings, map[string]string{"DSN": d.db.dsn, "API_ENDPOINT": d.crm.endpoint()})
		c, err := startChild(ctx, name, filepath.Join(d.bin, "integrator"), nil, env, filepath.Join(d.logDir, name+".log"), d.exited)
		if err != nil {
			return err
		}
		d.integrators = append(d.integrators, c)
	}
	d.step("%d integrators started, %s workers each, retry delay %s doubling up to %s", o.integrators,
		setting(integratorSettings, "WORKERS"), setting(integratorSettings, "RETRY_DELAY"), setting(integratorSettings, "RETRY_MAX_DELAY"))

	csvPath := filepath.Join(d.dir, "customers.csv")
	genStart := time.Now()
	size, err := writeCSV(csvPath, o.n, o.seed)
	if err != nil {
		return err
	}
	d.step("generated %s customers into %s (%.1f MB) in %s", harness.Group(o.n), csvPath, float64(size)/1e6, round(time.Since(genStart)))

	if err := d.db.db.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&d.parserStartDB); err != nil {
		return fmt.Errorf("read the database's clock: %w", err)
	}
	env := childEnv(parserSettings, map[string]string{"DSN": d.db.dsn, "REJECTS": filepath.Join(d.logDir, "rejects.csv")})
	if d.parser, err = startChild(ctx, "parser", filepath.Join(d.bin, "parser"), []string{csvPath}, env, filepath.Join(d.logDir, "parser.log"), d.exited); err != nil {
		return err
	}
	d.step("parser started on %s: streaming it into PostgreSQL in chunks", filepath.Base(csvPath))
	return nil
}

// startCRM starts httpapi on a free loopback port with the demo's faults
// and waits until it answers; a port taken in the meantime is retried.
func (d *demo) startCRM(ctx context.Context) error {
	d.crm = crm{path: d.o.crm.path, token: os.Getenv("API_TOKEN"), client: &http.Client{}}
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := harness.FreePort()
		if err != nil {
			return err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		d.crm.base = "http://" + addr
		env := childEnv(d.o.crm.settings(crmFaults, d.o.crm.crmEnv), map[string]string{"API_LISTEN": addr})
		c, err := startChild(ctx, "httpapi", filepath.Join(d.bin, "httpapi"), nil, env, filepath.Join(d.logDir, "httpapi.log"), nil)
		if err != nil {
			return err
		}
		d.httpapi = c
		if last = d.crm.waitReady(ctx, c, 10*time.Second); last == nil {
			// From now on its exit is news.
			go func() { <-c.Done(); d.exited <- c }()
			return nil
		}
		c.Stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return last
}

// writeCSV writes n generated customers to path and returns its size.
func writeCSV(path string, n, seed int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if err := gen.WriteCSV(f, n, seed); err != nil {
		f.Close()
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return fi.Size(), f.Close()
}

// sample reads the customers table and the CRM's counters.
func (d *demo) sample(ctx context.Context) sample {
	s := sample{parserRan: d.parser.Exited()}
	s.elapsed = time.Since(d.parser.Started)
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.table, s.tableErr = d.db.counts(qctx)
	s.crm, s.crmErr = d.crm.stats(qctx)
	return s
}

// watch shows the progress every second until every stored row is sent
// (or rejected, refused by the CRM for good) after the parser succeeded,
// which it records in r.delivered, or something
// goes wrong: a timeout or a program that died, which it records in r.abort,
// or the parser failing. It returns false when the demo was interrupted.
func (d *demo) watch(ctx context.Context, r *result) bool {
	prog := newProgress(d.out)
	defer prog.end()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s := d.sample(ctx)
		if ctx.Err() == nil {
			prog.show(s, d.o.n)
		}
		if s.parserRan && d.parser.ExitCode() == 0 && s.tableErr == nil && s.table.Sent+s.table.Rejected == s.table.Stored {
			r.delivered = true
			return true
		}
		select {
		case <-ctx.Done():
			if context.Cause(ctx) != errTimeout {
				return false
			}
			r.abort = fmt.Sprintf("timed out after %s (-timeout)", d.o.timeout)
			return true
		case c := <-d.exited:
			if c == d.parser && c.ExitCode() == 0 {
				continue // sample again at once
			}
			prog.end()
			d.step("%s exited (%s); the end of its log, %s:\n%s", c.Name, c.Status(), c.logPath, c.tail(8))
			if c != d.parser {
				r.abort = fmt.Sprintf("%s exited before the end (%s)", c.Name, c.Status())
			}
			return true
		case <-tick.C:
		}
	}
}

// finish fills r with the final numbers, read after the integrators
// stopped.
func (d *demo) finish(ctx context.Context, r *result) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if r.parserRan = d.parser.Exited(); r.parserRan {
		r.parserCode, r.parserStatus = d.parser.ExitCode(), d.parser.Status()
		r.parseTime = d.parser.Ended.Sub(d.parser.Started)
		r.parserSaid = lastLine(d.parser.logPath, "read ")
	}
	r.table, r.tableErr = d.db.counts(ctx)
	r.crm, r.crmErr = d.crm.stats(ctx)
	if first, last, err := d.db.span(ctx); err == nil && !last.IsZero() {
		r.delivery = last.Sub(first)
		r.pipeline = last.Sub(d.parserStartDB)
	}
	r.total = time.Since(d.start)
}

// close stops every program the demo started, the parser first and the
// mock CRM last, then the database, and removes the temporary directory;
// when the demo failed it keeps the logs and prints their paths.
func (d *demo) close(failed bool) {
	children := append([]*child{d.parser}, d.integrators...)
	children = append(children, d.httpapi)
	for _, c := range children {
		if c != nil {
			c.Stop()
		}
	}
	if d.db != nil {
		d.db.close()
	}
	if d.dir == "" {
		return
	}
	if d.o.keep {
		fmt.Fprintf(d.out, "kept (-keep): %s (CSV file, binaries, logs); remove it with: rm -r %s\n", d.dir, d.dir)
		return
	}
	logs := logFiles(d.logDir)
	if !failed || len(logs) == 0 {
		os.RemoveAll(d.dir)
		return
	}
	for _, e := range []string{"bin", "customers.csv"} {
		os.RemoveAll(filepath.Join(d.dir, e))
	}
	fmt.Fprintf(d.out, "logs kept for a look (remove them with: rm -r %s):\n", d.dir)
	for _, l := range logs {
		fmt.Fprintf(d.out, "  %s\n", l)
	}
}

// logFiles lists the non-empty files in dir.
func logFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var paths []string
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return paths
}

// lastLine returns the last line of the file at path that starts with
// prefix, or "".
func lastLine(path, prefix string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	found := ""
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, prefix) {
			found = strings.TrimSpace(line)
		}
	}
	return found
}
