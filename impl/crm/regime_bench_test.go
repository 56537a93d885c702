package crm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"goquiz/common"
	"goquiz/impl/mockcrm"
)

// benchServerEnv, when set in the environment of the test binary, makes
// it serve the mock CRM described by its value (see serveBenchChild)
// instead of running tests: the benchmarks of the regimes run the CRM in
// a process of its own, so that each side's CPU is measured apart.
const benchServerEnv = "GOQUIZ_CRM_BENCH_SERVER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchServerEnv); spec != "" {
		os.Exit(serveBenchChild(spec))
	}
	os.Exit(m.Run())
}

// benchSpec describes the mock CRM of a regime.
type benchSpec struct {
	tls     bool          // serve over TLS
	h2      bool          // offer HTTP/2 over TLS
	latency time.Duration // of every answer
	rps     float64       // the mock's rate limit; 0 for none
	burst   int           // its bucket's size
}

func (s benchSpec) String() string {
	return fmt.Sprintf("tls=%t,h2=%t,latency=%s,rps=%g,burst=%d", s.tls, s.h2, s.latency, s.rps, s.burst)
}

func parseBenchSpec(v string) (benchSpec, error) {
	var s benchSpec
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "tls":
			s.tls, err = strconv.ParseBool(val)
		case "h2":
			s.h2, err = strconv.ParseBool(val)
		case "latency":
			s.latency, err = time.ParseDuration(val)
		case "rps":
			s.rps, err = strconv.ParseFloat(val, 64)
		case "burst":
			s.burst, err = strconv.Atoi(val)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// serveBenchChild serves the mock CRM of spec on a loopback port. It
// prints "READY <url> <certificate, base64 DER, or ->", serves until its
// standard input closes, then prints "CPU <ns>", the CPU time it used
// since it was ready, and returns.
func serveBenchChild(spec string) int {
	s, err := parseBenchSpec(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv := httptest.NewUnstartedServer(mockcrm.New(mockcrm.Config{
		Latency: s.latency, RateLimitRPS: s.rps, RateLimitBurst: s.burst,
	}))
	cert := "-"
	if s.tls {
		srv.EnableHTTP2 = s.h2
		srv.StartTLS()
		cert = base64.StdEncoding.EncodeToString(srv.Certificate().Raw)
	} else {
		srv.Start()
	}
	start := cpuTime()
	fmt.Printf("READY %s %s\n", srv.URL, cert)
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Printf("CPU %d\n", cpuTime()-start)
	return 0
}

// cpuTime returns the CPU time this process used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCRM is a mock CRM in a child process.
type benchCRM struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	url   string
	tls   *tls.Config // trusting its certificate; nil without TLS
}

func startBenchCRM(b *testing.B, s benchSpec) *benchCRM {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchServerEnv+"="+s.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &benchCRM{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := c.out.ReadString('\n')
	if err != nil {
		b.Fatalf("bench CRM: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		b.Fatalf("bench CRM said %q", line)
	}
	c.url = f[1] + "/customers"
	if f[2] != "-" {
		der, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil {
			b.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			b.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		c.tls = &tls.Config{RootCAs: pool}
	}
	return c
}

// stop ends the CRM and returns the CPU time it used.
func (c *benchCRM) stop(b *testing.B) time.Duration {
	b.Helper()
	_ = c.stdin.Close()
	line, err := c.out.ReadString('\n')
	if err != nil {
		b.Fatalf("bench CRM: %v", err)
	}
	ns, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(line), "CPU "), 10, 64)
	if err != nil {
		b.Fatalf("bench CRM said %q", line)
	}
	return time.Duration(ns)
}

// benchPublisher is a client under measurement.
type benchPublisher interface {
	common.Publisher
	CloseIdleConnections()
}

// benchClients are the clients compared, by name: the Client, the same
// without HTTP/2, and the delivery reference of cmd/bench. (The fasthttp
// client the Client replaced is measured by this benchmark at commit
// caabd80.)
var benchClients = map[string]func(url string, workers int, tlsCfg *tls.Config) (benchPublisher, error){
	"client": func(url string, workers int, tlsCfg *tls.Config) (benchPublisher, error) {
		c, err := New(url, Options{MaxConns: workers})
		if err == nil {
			c.tr.TLSClientConfig = tlsCfg
		}
		return c, err
	},
	"client-h1": func(url string, workers int, tlsCfg *tls.Config) (benchPublisher, error) {
		c, err := New(url, Options{MaxConns: workers})
		if err == nil {
			c.tr.TLSClientConfig = tlsCfg
			c.tr.Protocols = new(http.Protocols)
			c.tr.Protocols.SetHTTP1(true)
		}
		return c, err
	},
	"plain": func(url string, workers int, tlsCfg *tls.Config) (benchPublisher, error) {
		return &plainPublisher{url: url, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, TLSClientConfig: tlsCfg}}}, nil
	},
}

// plainPublisher is the delivery reference of cmd/bench: a default
// net/http client and encoding/json of a map.
type plainPublisher struct {
	url string
	hc  *http.Client
}

func (p *plainPublisher) CloseIdleConnections() { p.hc.CloseIdleConnections() }

func (p *plainPublisher) Publish(ctx context.Context, c common.Customer) (common.Budget, error) {
	body, _ := json.Marshal(map[string]any{"id": c.ID, "first_name": c.FirstName, "last_name": c.LastName, "email": c.Email, "phone": c.Phone})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", c.IdempotencyKey())
	resp, err := p.hc.Do(req)
	if err != nil {
		return common.Budget{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return common.Budget{}, common.StatusError(resp.StatusCode, 0)
	}
	return common.Budget{}, nil
}

// regime is a CRM as users meet it, with the publishers in flight.
type regime struct {
	name    string
	spec    benchSpec
	workers int
	clients []string
}

var regimes = []regime{
	{"instant", benchSpec{}, 8, []string{"client", "plain"}},
	{"tls-instant", benchSpec{tls: true, h2: true}, 8, []string{"client", "client-h1", "plain"}},
	{"tls-20ms-w8", benchSpec{tls: true, h2: true, latency: 20 * time.Millisecond}, 8, []string{"client", "client-h1"}},
	{"tls-20ms-w64", benchSpec{tls: true, h2: true, latency: 20 * time.Millisecond}, 64, []string{"client", "client-h1"}},
	{"tls-200ms-w64", benchSpec{tls: true, h2: true, latency: 200 * time.Millisecond}, 64, []string{"client", "client-h1"}},
	{"http-50ms-w64", benchSpec{latency: 50 * time.Millisecond}, 64, []string{"client"}},
	{"ratelimited-500rps", benchSpec{latency: 2 * time.Millisecond, rps: 500, burst: 50}, 8, []string{"client"}},
}

// BenchmarkRegimes publishes b.N customers with the regime's publishers
// in flight to a mock CRM in a child process, per client, and reports the
// CPU each side spent per request, the rate, and for a CRM with latency
// the share of the ideal rate (workers / latency) reached.
//
//	go test -run X -bench Regimes -benchtime 3s ./impl/crm
func BenchmarkRegimes(b *testing.B) {
	for _, rg := range regimes {
		for _, name := range rg.clients {
			b.Run(rg.name+"/"+name, func(b *testing.B) { benchRegime(b, rg, name) })
		}
	}
}

func benchRegime(b *testing.B, rg regime, client string) {
	crm := startBenchCRM(b, rg.spec)
	pub, err := benchClients[client](crm.url, rg.workers, crm.tls)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.CloseIdleConnections()
	var (
		ids      atomic.Int64
		next     atomic.Int64
		accepted atomic.Int64
		refused  atomic.Int64
		wg       sync.WaitGroup
	)
	work := func(n int64) {
		next.Store(0)
		for range rg.workers {
			wg.Go(func() {
				for next.Add(1) <= n {
					_, err := pub.Publish(context.Background(), benchCustomer(ids.Add(1)))
					switch pe := common.AsPublishError(err); {
					case err == nil:
						accepted.Add(1)
					case pe.Status == http.StatusTooManyRequests:
						refused.Add(1)
					default:
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	work(int64(2 * rg.workers)) // connections open, pools warm
	accepted.Store(0)
	refused.Store(0)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	work(int64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	srvCPU := crm.stop(b)
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/req")
	b.ReportMetric(float64(srvCPU.Microseconds())/n, "crm-cpu-µs/req")
	b.ReportMetric(n/elapsed.Seconds(), "req/s")
	if rg.spec.latency > 0 && rg.spec.rps == 0 {
		b.ReportMetric(n/elapsed.Seconds()/(float64(rg.workers)/rg.spec.latency.Seconds()), "of-ideal")
	}
	if rg.spec.rps > 0 {
		b.ReportMetric(float64(accepted.Load())/elapsed.Seconds(), "ok/s")
		b.ReportMetric(100*float64(refused.Load())/n, "refused-%")
	}
}
