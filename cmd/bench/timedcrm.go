package main

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"goquiz/impl/mockcrm"
)

// earlySlack is how much sooner than its Retry-After a retry may come
// before it counts as early: the CRM notes the wait when its handler
// returns, a little before the client reads the answer, so a client that
// waits exactly Retry-After is never early by more than this.
const earlySlack = 20 * time.Millisecond

// timedCRM is a mock CRM on a loopback port that notes when the first
// request came and the last customer was accepted, counts the answers
// 200 by integrator (the last element of the request's path, as the bench
// gives each integrator a path of its own), and counts the retries that
// came before the Retry-After of their previous answer.
type timedCRM struct {
	crm
	first, lastAccept atomic.Int64 // unix nanoseconds
	ok                []atomic.Int64
	early             atomic.Int64

	mu        sync.Mutex
	notBefore map[string]time.Time // by Idempotency-Key: the earliest retry Retry-After allows
}

// startTimedCRM serves a mock CRM configured by cfg for integrators
// integrators.
func startTimedCRM(cfg mockcrm.Config, integrators int) (*timedCRM, error) {
	c := &timedCRM{crm: crm{srv: mockcrm.New(cfg)}, ok: make([]atomic.Int64, max(integrators, 1)),
		notBefore: map[string]time.Time{}}
	return c, c.serve(c)
}

// ServeHTTP passes the request to the mock and notes the times.
func (c *timedCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	c.first.CompareAndSwap(0, now.UnixNano())
	key := r.Header.Get("Idempotency-Key")
	c.checkWait(key, now)
	sw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
	c.srv.ServeHTTP(sw, r)
	if sw.code == http.StatusOK {
		c.lastAccept.Store(time.Now().UnixNano())
		c.ok[c.integrator(r.URL.Path)].Add(1)
	}
	if secs, err := strconv.Atoi(sw.Header().Get("Retry-After")); err == nil && key != "" {
		c.mu.Lock()
		c.notBefore[key] = time.Now().Add(time.Duration(secs) * time.Second)
		c.mu.Unlock()
	}
}

// checkWait counts the request as early if it came before the Retry-After
// of the last answer to its key, and forgets that answer.
func (c *timedCRM) checkWait(key string, now time.Time) {
	c.mu.Lock()
	nb, ok := c.notBefore[key]
	delete(c.notBefore, key)
	c.mu.Unlock()
	if ok && now.Add(earlySlack).Before(nb) {
		c.early.Add(1)
	}
}

// integrator returns the index of the integrator that POSTs to path, 0
// when the path names none.
func (c *timedCRM) integrator(path string) int {
	i, err := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
	if err != nil || i < 0 || i >= len(c.ok) {
		return 0
	}
	return i
}

// oks returns the answers 200 by integrator.
func (c *timedCRM) oks() []int64 {
	n := make([]int64, len(c.ok))
	for i := range c.ok {
		n[i] = c.ok[i].Load()
	}
	return n
}

// codeWriter remembers the status written.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }
