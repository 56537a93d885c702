package main_test

import (
	"database/sql"
	"goquiz/internal/promtest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
	"goquiz/internal/faultproxy"
	"goquiz/internal/testbin"
)

// httpGet returns the status and body of a GET of url, or 0 when no
// answer came.
func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// execSQL runs statements on the database of dsn, creating the schema
// first.
func execSQL(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	seed(t, dsn, 1_000_000, 0) // creates the schema
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

func TestStatusOfAKnownStateWithoutIntegrator(t *testing.T) {
	dsn := pgtest.DSN(t)
	execSQL(t, dsn, `INSERT INTO customers (id, first_name, last_name, email, phone, state, attempts, last_error,
		next_attempt_at, created_at, sent_at) VALUES
		(1, 'f', 'l', 'e', 'p', 'pending', 0, NULL, now(), now() - interval '2 hours', NULL),
		(2, 'f', 'l', 'e', 'p', 'pending', 0, NULL, now(), now(), NULL),
		(3, 'f', 'l', 'e', 'p', 'pending', 2, 'status 500', now() + interval '1 minute', now(), NULL),
		(4, 'f', 'l', 'e', 'p', 'pending', 1, 'timeout: context deadline exceeded', now() + interval '1 minute', now(), NULL),
		(5, 'f', 'l', 'e', 'p', 'sent', 0, NULL, now(), now(), now() - interval '5 seconds'),
		(6, 'f', 'l', 'e', 'p', 'sent', 0, NULL, now(), now(), now() - interval '2 minutes'),
		(7, 'f', 'l', 'e', 'p', 'failed', 5, 'status 500', now(), now(), NULL)`,
		`INSERT INTO claims (owner, lease_until, ids) VALUES ('x', now() + interval '30 seconds', '{2}')`)

	res := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status")
	require.Equal(t, 0, res.Code, res.Stderr)
	out := res.Stdout
	for _, want := range []string{
		`(?m)^  pending +1$`,
		`(?m)^  in flight +1$`,
		`(?m)^  waiting to retry +2$`,
		`(?m)^  sent +2$`,
		`(?m)^  failed +1$`,
		`(?m)^  total +7$`,
		`(?m)^oldest undelivered record: 2h0m[0-9]+s old \(stored .* UTC\)$`,
		`(?m)^sent in the last minute: 1 \(0\.0/s\)$`,
		`(?m)^ +2  status 500\n +1  timeout: context deadline exceeded$`,
		`(?m)^failed records were given up after MAX_ATTEMPTS: run integrator retry-failed to send them again$`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), out)
	}
}

func TestStatusRecountCorrectsCountsOfATableEditedWithoutTriggers(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 10)
	execSQL(t, dsn, `ALTER TABLE customers DISABLE TRIGGER USER`,
		`UPDATE customers SET state = 'sent', sent_at = now() WHERE id <= 4`,
		`ALTER TABLE customers ENABLE TRIGGER USER`)

	res := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Regexp(t, `(?m)^  pending +10$`, res.Stdout, "the counts missed the edit")

	res = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status", "--recount")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Regexp(t, `(?m)^recounted 10 records in [0-9.]+m?s: corrected pending -4, sent \+4, 1 count by time stored, 1 count by time sent\n`+
		`records by state:$`, res.Stdout)
	assert.Regexp(t, `(?m)^  pending +6$`, res.Stdout)
	assert.Regexp(t, `(?m)^  sent +4$`, res.Stdout)
	assert.Regexp(t, `(?m)^sent in the last minute: 4 `, res.Stdout)

	res = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status", "--recount")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Regexp(t, `(?m)^recounted 10 records in [0-9.]+m?s: the counts were exact$`, res.Stdout)
}

func TestMaxAttemptsGivesUpAndRetryFailedResends(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 5)
	// A CRM that fails every request until it is made healthy.
	var healthy atomic.Bool
	failing := mockcrm.New(mockcrm.Config{FailRate: 1})
	good := &recorder{crm: mockcrm.New(mockcrm.Config{}), ok: map[int64][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			good.ServeHTTP(w, r)
			return
		}
		failing.ServeHTTP(w, r)
	}))
	defer srv.Close()
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "MAX_ATTEMPTS=3", "POLL_INTERVAL=1h"))
	require.Eventually(t, func() bool { return countState(t, dsn, "failed") == 5 }, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, int64(15), failing.Stats().Faults.Fail, "three attempts each, then none")

	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var attempts int
	var lastErr string
	require.NoError(t, db.QueryRow(`SELECT attempts, last_error FROM customers WHERE id = 1`).Scan(&attempts, &lastErr))
	assert.Equal(t, 3, attempts)
	assert.Equal(t, "status 500", lastErr)

	st := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "status")
	require.Equal(t, 0, st.Code, st.Stderr)
	assert.Regexp(t, `(?m)^  failed +5$`, st.Stdout)
	assert.Regexp(t, `(?m)^ +5  status 500$`, st.Stdout)

	healthy.Store(true)
	res := testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, "5 failed records put back to pending, due now; running integrators deliver them\n", res.Stdout)
	// The running integrator is woken by retry-failed's notification: it
	// polls only every hour.
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 5 }, 10*time.Second, 50*time.Millisecond)
	stopGracefully(t, p)
	assert.Regexp(t, `gave_up=5`, p.Output())
	customers, resent := good.check(t)
	assert.Equal(t, 5, customers)
	assert.Zero(t, resent)

	res = testbin.Run(t, integrator(t), []string{"DSN=" + dsn}, nil, "retry-failed")
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.True(t, strings.HasPrefix(res.Stdout, "0 failed records"), res.Stdout)
}

func TestMetricsAndHealthEndpoints(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, srv := newRecorder(mockcrm.Config{FailRate: 0.2, Seed: 11})
	defer srv.Close()
	addr := testbin.FreeAddr(t)
	base := "http://" + addr
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "METRICS_LISTEN="+addr))
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/healthz"); return code == 200 }, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 }, 10*time.Second, 20*time.Millisecond)

	before := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 0.0, before["goquiz_records_delivered_total"])
	assert.Equal(t, 0.0, before[`goquiz_records{state="sent"}`])
	assert.Equal(t, 1.0, before["goquiz_crm_up"])
	assert.Equal(t, 1.0, before["goquiz_store_up"])

	seed(t, dsn, 1, 300)
	require.Eventually(t, func() bool {
		return promtest.Scrape(t, base+"/metrics")[`goquiz_records{state="sent"}`] == 300
	}, 30*time.Second, 100*time.Millisecond)
	after := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 300.0, after["goquiz_records_delivered_total"])
	assert.Positive(t, after[`goquiz_delivery_retries_total{reason="status_500"}`])
	assert.GreaterOrEqual(t, after["goquiz_request_duration_seconds_count"], 300.0)
	assert.Equal(t, 0.0, after[`goquiz_records{state="pending"}`])
	assert.Equal(t, 0.0, after["goquiz_oldest_undelivered_age_seconds"])
	stopGracefully(t, p)
}

func TestUnreachableCRMAtStartIsAWarning(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 3)
	crmAddr := testbin.FreeAddr(t) // nothing listens there
	metricsAddr := testbin.FreeAddr(t)
	p := testbin.Start(t, integrator(t), env(dsn, "http://"+crmAddr, "METRICS_LISTEN="+metricsAddr))
	require.Eventually(t, func() bool { return strings.Contains(p.Output(), "CRM unreachable at start") }, 20*time.Second, 20*time.Millisecond)
	line := ""
	for l := range strings.Lines(p.Output()) {
		if strings.Contains(l, "CRM unreachable at start") {
			line = l
		}
	}
	assert.Contains(t, line, "level=WARN")
	assert.Contains(t, line, "connection refused")
	assert.Contains(t, line, "check API_ENDPOINT")
	assert.Equal(t, 0.0, promtest.Scrape(t, "http://"+metricsAddr+"/metrics")["goquiz_crm_up"])

	// The daemon keeps running, and delivers once the CRM is up.
	ln, err := net.Listen("tcp", crmAddr)
	require.NoError(t, err)
	rec := &recorder{crm: mockcrm.New(mockcrm.Config{}), ok: map[int64][]string{}}
	crm := httptest.NewUnstartedServer(rec)
	crm.Listener = ln
	crm.Start()
	defer crm.Close()
	require.Eventually(t, func() bool { return countState(t, dsn, "sent") == 3 }, 30*time.Second, 100*time.Millisecond)
	assert.Equal(t, 1.0, promtest.Scrape(t, "http://"+metricsAddr+"/metrics")["goquiz_crm_up"])
	stopGracefully(t, p)
}

func TestOperatorErrorsAreOneLineWithWhatToDo(t *testing.T) {
	server := pgtest.Server(t)
	missingDB, err := pgtest.WithDatabase(server, "goquiz_no_such_database")
	require.NoError(t, err)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	unreachable := "DSN=postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable"
	// A server that takes connections and never answers, as behind a hung
	// proxy.
	mute, err := faultproxy.Start("127.0.0.1:1")
	require.NoError(t, err)
	defer mute.Close()
	mute.SetNew(faultproxy.NewHang)
	silent := "DSN=postgres://u:hunter2@" + mute.Addr() + "/db?sslmode=disable"
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"unreachable database", []string{unreachable, "CONNECT_TIMEOUT=1s"}, nil, 1,
			[]string{"integrator: connect to PostgreSQL at postgres://u:***@127.0.0.1:1/db", "connection refused", "is the server running and is DSN right?"}},
		{"unreachable database for status", []string{unreachable, "CONNECT_TIMEOUT=0s"}, []string{"status"}, 1,
			[]string{"connect to PostgreSQL", "is the server running and is DSN right?"}},
		{"unreachable database for retry-failed", []string{unreachable, "CONNECT_TIMEOUT=0s"}, []string{"retry-failed"}, 1,
			[]string{"connect to PostgreSQL", "is the server running and is DSN right?"}},
		{"database that does not answer, for status", []string{silent, "DB_TIMEOUT=1s", "CONNECT_TIMEOUT=10s"}, []string{"status"}, 1,
			[]string{"connect to PostgreSQL at postgres://u:***@" + mute.Addr(), "no answer from PostgreSQL within DB_TIMEOUT (1s)"}},
		{"missing database", []string{"DSN=" + missingDB}, []string{"status"}, 1,
			[]string{"goquiz_no_such_database", "create the database or fix its name in DSN"}},
		{"metrics address taken", []string{"DSN=" + pgtest.DSN(t), "METRICS_LISTEN=" + busy.Addr().String()}, nil, 1,
			[]string{"address already in use", "set METRICS_LISTEN to a free host:port"}},
		{"bad metrics address", []string{"METRICS_LISTEN=9090"}, nil, 2,
			[]string{`METRICS_LISTEN "9090" is not host:port`, "see integrator -h"}},
		{"negative max attempts", []string{"MAX_ATTEMPTS=-1"}, nil, 2,
			[]string{"MAX_ATTEMPTS must not be negative", "see integrator -h"}},
		{"max attempts not a number", []string{"MAX_ATTEMPTS=many"}, nil, 2,
			[]string{`MAX_ATTEMPTS="many" is not an integer`, "see integrator -h"}},
		{"negative max rate", []string{"MAX_RATE=-1"}, nil, 2,
			[]string{"MAX_RATE must be a number of requests per second of at least 0", "see integrator -h"}},
		{"max rate not a number", []string{"MAX_RATE=fast"}, nil, 2,
			[]string{`MAX_RATE="fast" is not a number`, "see integrator -h"}},
		{"unknown command", nil, []string{"stats"}, 2,
			[]string{`unknown command "stats"`, "status, status --recount, retry-failed or retry-failed --rejected"}},
		{"unknown status option", nil, []string{"status", "--fast"}, 2,
			[]string{`unknown command "status --fast"`, "status --recount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res := testbin.Run(t, integrator(t), tt.env, nil, tt.args...)
			assert.Less(t, time.Since(start), 5*time.Second, "gives up within bounds")
			assert.Equal(t, tt.code, res.Code, res.Stderr)
			lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
			last := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(last, "integrator: "), last)
			for _, w := range tt.want {
				assert.Contains(t, last, w)
			}
			assert.NotContains(t, res.Stderr, "hunter2")
			assert.NotContains(t, res.Stderr, "goroutine", "no stack trace")
			if tt.code == 2 || len(tt.args) > 0 {
				assert.Len(t, lines, 1, res.Stderr)
			}
		})
	}
}

// SIGINT or SIGTERM while the daemon waits at start for a database that
// is not up yet (CONNECT_TIMEOUT) is a clean stop, as during delivery:
// exit 0 at once, a line saying so, no error.
func TestSignalWhileStartingIsACleanStop(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := testbin.Start(t, integrator(t), []string{
				"DSN=postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable", // refused: retried until CONNECT_TIMEOUT
				"CONNECT_TIMEOUT=30s",
			})
			require.Eventually(t, func() bool { return strings.Contains(p.Output(), "integrator starting") }, 10*time.Second, 10*time.Millisecond)
			time.Sleep(300 * time.Millisecond) // into the retries
			start := time.Now()
			p.Signal(sig)
			code, err := p.Wait(10 * time.Second)
			require.NoError(t, err)
			assert.Less(t, time.Since(start), 2*time.Second, "stops at once, not after CONNECT_TIMEOUT")
			assert.Equal(t, 0, code, p.Output())
			assert.Contains(t, p.Output(), "integrator stopped before delivering: asked to stop while connecting to the database")
			assert.NotContains(t, p.Output(), "context canceled")
			assert.NotContains(t, p.Output(), "level=ERROR")
		})
	}
}

// goquiz_crm_up is 0 while the CRM looks down (only probes go out) and 1
// once it answers: a success of a request sent before the CRM was taken
// as down does not bring it back to 1 while only probes go out, and an
// answer that is not a success, such as a 429, brings it back from the
// start check's 0.
func TestCRMUpFollowsWhatTheIntegratorKnowsOfTheCRM(t *testing.T) {
	t.Run("a late success while the CRM looks down", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		seed(t, dsn, 1, 50)
		var requests atomic.Int64
		slowDone := make(chan struct{})
		crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == 1 { // held while the others fail, then accepted
				time.Sleep(1500 * time.Millisecond)
				w.WriteHeader(http.StatusOK)
				close(slowDone)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		}))
		defer crm.Close()
		addr := testbin.FreeAddr(t)
		p := testbin.Start(t, integrator(t), env(dsn, crm.URL, "METRICS_LISTEN="+addr, "REQUEST_TIMEOUT=5s"))
		require.Eventually(t, func() bool { return strings.Contains(p.Output(), "CRM looks down") }, 20*time.Second, 10*time.Millisecond)
		assert.Equal(t, 0.0, promtest.Scrape(t, "http://"+addr+"/metrics")["goquiz_crm_up"])
		select {
		case <-slowDone:
		case <-time.After(10 * time.Second):
			t.Fatal("the held request was not answered")
		}
		time.Sleep(200 * time.Millisecond) // its outcome reaches the metrics
		require.NotContains(t, p.Output(), "CRM is up again", "only probes go out, and fail")
		assert.Equal(t, 0.0, promtest.Scrape(t, "http://"+addr+"/metrics")["goquiz_crm_up"], "the CRM still looks down")
		stopGracefully(t, p)
	})
	t.Run("an answer after the CRM was unreachable at start", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		crmAddr := testbin.FreeAddr(t) // nothing listens there yet
		metricsAddr := testbin.FreeAddr(t)
		p := testbin.Start(t, integrator(t), env(dsn, "http://"+crmAddr, "METRICS_LISTEN="+metricsAddr))
		require.Eventually(t, func() bool { return strings.Contains(p.Output(), "CRM unreachable at start") }, 20*time.Second, 10*time.Millisecond)
		assert.Equal(t, 0.0, promtest.Scrape(t, "http://"+metricsAddr+"/metrics")["goquiz_crm_up"])
		ln, err := net.Listen("tcp", crmAddr)
		require.NoError(t, err)
		crm := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests) // up, and busy
		}))
		crm.Listener = ln
		crm.Start()
		defer crm.Close()
		seed(t, dsn, 1, 3)
		require.Eventually(t, func() bool {
			return promtest.Scrape(t, "http://"+metricsAddr+"/metrics")[`goquiz_delivery_retries_total{reason="status_429"}`] > 0
		}, 20*time.Second, 50*time.Millisecond)
		assert.Equal(t, 1.0, promtest.Scrape(t, "http://"+metricsAddr+"/metrics")["goquiz_crm_up"], "the CRM answers")
		stopGracefully(t, p)
	})
}

// /healthz answers while the process runs, from its start: while the
// daemon still waits for a database that is not up (CONNECT_TIMEOUT),
// /healthz is 200 and /readyz 503 with what it waits for; once the
// database answers, /readyz is 200.
func TestHealthWhileTheDatabaseIsNotUpAtStart(t *testing.T) {
	proxy, proxied := pgtest.Proxy(t, pgtest.DSN(t))
	proxy.SetNew(faultproxy.NewRefuse) // the database is not up yet
	addr := testbin.FreeAddr(t)
	base := "http://" + addr
	p := testbin.Start(t, integrator(t), env(proxied, "http://127.0.0.1:1", "METRICS_LISTEN="+addr, "CONNECT_TIMEOUT=60s", "MAX_RATE=2.5", "WORKERS=3"))
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/healthz"); return code == 200 }, 10*time.Second, 20*time.Millisecond, p.Output())
	code, body := httpGet(base + "/readyz")
	assert.Equal(t, 503, code)
	assert.Equal(t, "not ready: starting: connecting to the database (retried for CONNECT_TIMEOUT)\n", body)
	scrape := promtest.Scrape(t, base+"/metrics")
	assert.Equal(t, 0.0, scrape["goquiz_store_up"])
	assert.Contains(t, scrape, "goquiz_records_delivered_total")
	assert.Equal(t, 2.5, scrape["goquiz_delivery_rate_limit"], "MAX_RATE, in force from the start")
	assert.Equal(t, 3.0, scrape["goquiz_delivery_in_flight_limit"], "WORKERS")

	proxy.SetNew(faultproxy.NewPass) // the database is up
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond, p.Output())
	assert.Equal(t, 1.0, promtest.Scrape(t, base+"/metrics")["goquiz_store_up"])
	stopGracefully(t, p)
}

// A listening database that cannot be reached at start stops the daemon
// with one line that names the variable to check: LISTEN_DSN, not DSN,
// which reached its database.
func TestUnreachableListeningDatabaseNamesListenDSN(t *testing.T) {
	res := testbin.Run(t, integrator(t), []string{
		"DSN=" + pgtest.DSN(t),
		"LISTEN_DSN=postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable",
		"CONNECT_TIMEOUT=1s",
	}, nil)
	assert.Equal(t, 1, res.Code, res.Stderr)
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	last := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(last, "integrator: listen on goquiz_customers at postgres://u:***@127.0.0.1:1/db"), last)
	assert.Contains(t, last, "connection refused")
	assert.True(t, strings.HasSuffix(last, " — is the server running and is LISTEN_DSN (default: DSN) right?"), last)
	assert.NotContains(t, res.Stderr, "hunter2")
}

// Told to stop, the daemon is not ready while it finishes the requests in
// flight (/healthz stays 200 until it exits): a deployment waiting for
// readiness sees it going, not a daemon ready until its last moment.
func TestNotReadyWhileStopping(t *testing.T) {
	dsn := pgtest.DSN(t)
	seed(t, dsn, 1, 4)
	rec, srv := newRecorder(mockcrm.Config{Latency: 1500 * time.Millisecond}) // under REQUEST_TIMEOUT (2s)
	defer srv.Close()
	addr := testbin.FreeAddr(t)
	base := "http://" + addr
	p := testbin.Start(t, integrator(t), env(dsn, srv.URL, "METRICS_LISTEN="+addr, "WORKERS=2"))
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 }, 20*time.Second, 20*time.Millisecond, p.Output())
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return !rec.first.IsZero()
	}, 10*time.Second, 10*time.Millisecond, "a request in flight")
	p.Signal(syscall.SIGTERM)
	require.Eventually(t, func() bool { code, _ := httpGet(base + "/readyz"); return code == 503 }, 2*time.Second, 10*time.Millisecond, p.Output())
	code, body := httpGet(base + "/readyz")
	assert.Equal(t, 503, code)
	assert.Equal(t, "not ready: stopping: finishing the requests in flight, claiming no new records\n", body)
	code, _ = httpGet(base + "/healthz")
	assert.Equal(t, 200, code)
	exit, err := p.Wait(15 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, exit, p.Output())
	assert.Equal(t, 2, rec.accepted(), "the two requests in flight finished")
}
