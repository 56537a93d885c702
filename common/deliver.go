package common

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DeliverConfig tunes a Deliverer. Zero values take the defaults noted.
type DeliverConfig struct {
	// Workers is the number of requests in flight at once (default 8).
	Workers int
	// Batch is the most records claimed per query (default 1000, and at
	// least 2*Workers). Each claim takes about a quarter of a second of
	// work at the rate records are being sent, so that claims keep up
	// with a fast CRM while a slow one does not make one integrator hold
	// records others could send.
	Batch int
	// PollInterval is how often the store is polled when no wake-up comes
	// (default 5s).
	PollInterval time.Duration
	// RetryDelay is the delay before the first retry of a record (default
	// 1s); it doubles on every further failure up to RetryMaxDelay (default
	// 5m).
	RetryDelay    time.Duration
	RetryMaxDelay time.Duration
	// RequestTimeout bounds one request (default 10s).
	RequestTimeout time.Duration
	// Lease is how long claimed records stay reserved; the leases of held
	// records are renewed every Lease/3 (default 30s).
	Lease time.Duration
	// DownAfter is the number of failures in a row (no answer, or a 5xx)
	// after which the CRM is taken as down and only probed (default 10).
	DownAfter int
	// ProbeMaxInterval caps the wait between probes of a CRM that is down
	// (default 2s).
	ProbeMaxInterval time.Duration
	// Wake delivers a value when new records may be due (a notification,
	// or a reconnect after which notifications may have been lost).
	Wake <-chan struct{}
	// Logger receives the daemon's logs (default slog.Default()).
	Logger *slog.Logger
	// LogInterval is how often a throughput line is logged while records
	// move (default 5s).
	LogInterval time.Duration
	// Observer, if not nil, is told of every attempt, for metrics.
	Observer Observer
	// SettleDelay is the longest an outcome waits for others to be
	// written with it (default 5ms): the window in which a crash can lose
	// the record of a delivery, which is then sent again. Zero takes the
	// default; a negative value writes at once.
	SettleDelay time.Duration
	// MaxAttempts, when positive, is the number of failed attempts after
	// which a record is given up: it becomes failed with its last error
	// instead of being retried. Zero retries until the CRM accepts it.
	MaxAttempts int
	// MaxRate caps request starts, in requests per second across all
	// workers (0: no cap); below it the rate adapts to the CRM's answers
	// (see Pacer).
	MaxRate float64
}

// Observer is told what a Deliverer does. Its methods are called
// concurrently and must be quick.
type Observer interface {
	// Attempt reports one request: its duration and its error (nil when
	// delivered).
	Attempt(d time.Duration, err error)
	// CRMDown reports the CRM going down or coming back.
	CRMDown(down bool)
	// Settled reports a batch of outcomes written to the store: sent
	// records delivered for good, failed attempts scheduled for a retry
	// or given up.
	Settled(sent, failed int)
}

func (c *DeliverConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Batch <= 0 {
		c.Batch = 1000
	}
	c.Batch = max(c.Batch, 2*c.Workers)
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.RetryMaxDelay < c.RetryDelay {
		c.RetryMaxDelay = max(5*time.Minute, c.RetryDelay)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.DownAfter <= 0 {
		c.DownAfter = 10
	}
	if c.ProbeMaxInterval <= 0 {
		c.ProbeMaxInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SettleDelay == 0 {
		c.SettleDelay = 5 * time.Millisecond
	}
	c.SettleDelay = max(c.SettleDelay, 0)
	if c.LogInterval <= 0 {
		c.LogInterval = 5 * time.Second
	}
}

// DeliverStats counts what a Deliverer did since it started.
type DeliverStats struct {
	// Claimed counts records claimed from the store.
	Claimed int64
	// Delivered counts records the CRM accepted, whose state is recorded.
	Delivered int64
	// Failed counts attempts that did not deliver, each scheduled for retry
	// or given up.
	Failed int64
	// Released counts claimed records given back unsent at shutdown.
	Released int64
	// GaveUp counts records that reached MaxAttempts and became failed;
	// they are counted in Failed too.
	GaveUp int64
}

// Deliverer is the integrator's engine: it claims due records from a Queue,
// sends each to the CRM through a Publisher with Workers requests in flight,
// and records the outcomes in batches, retrying every failure with
// exponential backoff until the CRM accepts the record (or, when
// MaxAttempts is set, until the record is given up).
type Deliverer struct {
	q   Queue
	pub Publisher
	cfg DeliverConfig
	log *slog.Logger
	brk *breaker
	// pace paces request starts to what the CRM allows.
	pace *Pacer
	// retried wakes the claimer when outcomes scheduled retries, whose
	// due times it could not see while it held the records.
	retried chan struct{}
	// hungry wakes the claimer when the records waiting for a worker have
	// run down to lowWater.
	hungry   chan struct{}
	lowWater atomic.Int64

	claimed, delivered, failed, released, gaveUp atomic.Int64
	// attempts counts requests sent, for sizing claims.
	attempts atomic.Int64
	// held are the records claimed and not yet settled or released: the
	// leases this integrator keeps alive.
	held idSet
}

// NewDeliverer returns a Deliverer of q's records to pub.
func NewDeliverer(q Queue, pub Publisher, cfg DeliverConfig) *Deliverer {
	cfg.defaults()
	d := &Deliverer{q: q, pub: pub, cfg: cfg, log: cfg.Logger, retried: make(chan struct{}, 1), hungry: make(chan struct{}, 1)}
	d.brk = newBreaker(cfg.DownAfter, cfg.RetryDelay, min(cfg.ProbeMaxInterval, cfg.RetryMaxDelay), d.crmChanged)
	d.pace = NewPacer(PaceConfig{MaxRate: cfg.MaxRate, Workers: cfg.Workers, Logger: cfg.Logger, Observer: paceObserverOf(cfg.Observer)})
	return d
}

func (d *Deliverer) crmChanged(down bool, err error) {
	if down {
		d.log.Warn("CRM looks down: probing until it answers", "failures_in_a_row", d.cfg.DownAfter, "last_error", errString(err))
	} else {
		d.log.Info("CRM is up again: resuming delivery")
	}
	if d.cfg.Observer != nil {
		d.cfg.Observer.CRMDown(down)
	}
}

// Stats returns the counts so far.
func (d *Deliverer) Stats() DeliverStats {
	return DeliverStats{
		Claimed:   d.claimed.Load(),
		Delivered: d.delivered.Load(),
		Failed:    d.failed.Load(),
		Released:  d.released.Load(),
		GaveUp:    d.gaveUp.Load(),
	}
}

// CRMDown tells whether the CRM looks down now.
func (d *Deliverer) CRMDown() bool { return d.brk.isDown() }

// Run delivers until ctx is cancelled, then shuts down gracefully: it stops
// claiming, lets the requests in flight finish (each bounded by
// RequestTimeout), records what they delivered, gives the records it holds
// but did not send back to the store, and returns nil. Store errors while
// running are logged and retried, never fatal.
func (d *Deliverer) Run(ctx context.Context) error {
	// Room for two claims: the claimer tops the queue up once it has run
	// down to one claim's worth, so that it never blocks on a send (which
	// would cost a wake-up per record) and the workers never run dry.
	work := make(chan Delivery, 2*d.cfg.Batch)
	results := make(chan Outcome, 2*d.cfg.Batch)
	var unsent idSet

	// The lease keeper outlives the workers: it stops after the last
	// outcome is recorded.
	keepCtx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
	defer stopKeeping()
	var keeper sync.WaitGroup
	keeper.Add(1)
	go func() { defer keeper.Done(); d.keepLeases(keepCtx) }()

	logCtx, stopLogging := context.WithCancel(ctx)
	defer stopLogging()
	go d.logThroughput(logCtx)

	var settled sync.WaitGroup
	settled.Add(1)
	go func() { defer settled.Done(); d.settle(ctx, results) }()

	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); d.work(ctx, work, results, &unsent) }()
	}

	d.claim(ctx, work, &unsent)
	close(work)
	workers.Wait()
	for r := range work { // claimed, never picked up
		unsent.add(r.ID)
	}
	close(results)
	settled.Wait()

	// Give back what was claimed but not attempted. Records whose outcome
	// could not be recorded stay leased: they may have been delivered.
	unsentIDs := unsent.list()
	d.held.remove(unsentIDs)
	keep := d.held.list()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err := retry(rctx, func() error { return d.q.Release(rctx, keep) })
	cancel()
	if err != nil {
		d.log.Error("could not release unsent claims; they are taken over when their lease runs out", "records", len(unsentIDs), "error", err)
	} else {
		d.released.Add(int64(len(unsentIDs)))
	}
	stopKeeping()
	keeper.Wait()
	st := d.Stats()
	d.log.Info("integrator stopped", "delivered", st.Delivered, "failed_attempts", st.Failed, "gave_up", st.GaveUp, "released", st.Released)
	return nil
}

// claim fills work with due records until ctx is cancelled; records it
// claimed but could not hand over go to unsent.
func (d *Deliverer) claim(ctx context.Context, work chan<- Delivery, unsent *idSet) {
	storeDown := 0
	// A claim whose answer was lost (the connection died after its commit)
	// leased records under our name that we never saw: give back whatever
	// the store shows leased by us but not held, at once after a failed
	// claim and every Lease/3 anyway. Claims happen on this goroutine only,
	// so every record leased by us and not in held is such an orphan.
	lost := false
	var swept time.Time
	size := claimSizer{min: 2 * d.cfg.Workers, max: d.cfg.Batch}
	for ctx.Err() == nil {
		if lost || time.Since(swept) > d.cfg.Lease/3 {
			if err := d.q.Release(ctx, d.held.list()); err == nil {
				lost, swept = false, time.Now()
			}
		}
		limit := size.next(d.attempts.Load())
		if !d.waitHungry(ctx, work, limit) {
			return
		}
		batch, err := d.q.Claim(ctx, limit)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			lost = true
			storeDown++
			if storeDown == 1 || storeDown%20 == 0 {
				d.log.Error("claim records: will retry", "error", err)
			}
			d.idle(ctx, min(time.Duration(storeDown)*200*time.Millisecond, 5*time.Second))
			continue
		}
		if storeDown > 0 {
			d.log.Info("store reachable again")
			storeDown = 0
		}
		d.claimed.Add(int64(len(batch)))
		for _, r := range batch {
			d.held.add(r.ID)
		}
		for i, r := range batch {
			select {
			case work <- r:
			case <-ctx.Done():
				for _, r := range batch[i:] {
					unsent.add(r.ID)
				}
				return
			}
		}
		if len(batch) == limit {
			continue // more may be due
		}
		d.idle(ctx, d.nextWait(ctx))
	}
}

// waitHungry waits until at most limit records wait in work, so that a
// claim of limit more fits without blocking. It returns false when ctx is
// done first.
func (d *Deliverer) waitHungry(ctx context.Context, work chan<- Delivery, limit int) bool {
	d.lowWater.Store(int64(limit))
	for len(work) > limit {
		select {
		case <-d.hungry:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// claimSizer sizes claims to about a quarter of a second of work at the
// rate requests have been going out, between min and max.
type claimSizer struct {
	min, max int
	rate     float64 // requests per second, smoothed
	last     time.Time
	lastN    int64
}

// next returns the size of the next claim, given the number of requests
// sent so far.
func (s *claimSizer) next(sent int64) int {
	now := time.Now()
	if !s.last.IsZero() {
		if dt := now.Sub(s.last).Seconds(); dt > 0 {
			s.rate = (s.rate + float64(sent-s.lastN)/dt) / 2
		}
	}
	s.last, s.lastN = now, sent
	return min(max(int(s.rate/4), s.min), s.max)
}

// nextWait returns how long to wait for new work: until the earliest retry
// falls due, or the poll interval.
func (d *Deliverer) nextWait(ctx context.Context) time.Duration {
	wait := d.cfg.PollInterval
	due, ok, err := d.q.NextDue(ctx)
	if err != nil || !ok {
		return wait
	}
	// Something due but not claimable (locked by a claim in progress)
	// should not make us spin.
	return min(wait, max(due, 20*time.Millisecond))
}

// idle waits for a wake-up, the timeout or ctx.
func (d *Deliverer) idle(ctx context.Context, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.cfg.Wake:
	case <-d.retried:
	case <-t.C:
	}
}

// work sends records until work is closed or ctx is cancelled; records it
// took but did not send go to unsent.
func (d *Deliverer) work(ctx context.Context, work <-chan Delivery, results chan<- Outcome, unsent *idSet) {
	// In-flight requests finish after ctx is cancelled: a delivered record
	// must be recorded as such.
	reqBase := context.WithoutCancel(ctx)
	for r := range work {
		if int64(len(work)) <= d.lowWater.Load() {
			select {
			case d.hungry <- struct{}{}:
			default:
			}
		}
		if ctx.Err() != nil {
			unsent.add(r.ID)
			continue
		}
		pt, err := d.pace.Wait(ctx)
		if err != nil {
			unsent.add(r.ID)
			continue
		}
		tk, err := d.brk.acquire(ctx)
		if err != nil {
			unsent.add(r.ID)
			continue
		}
		results <- d.attempt(reqBase, r, tk, pt)
	}
}

// attempt sends one record and returns its outcome.
func (d *Deliverer) attempt(base context.Context, r Delivery, tk ticket, pt paceTicket) Outcome {
	d.attempts.Add(1)
	ctx, cancel := context.WithTimeout(base, d.cfg.RequestTimeout)
	start := time.Now()
	budget, perr := d.pub.Publish(ctx, r.Customer)
	cancel()
	var err error
	if pe := AsPublishError(perr); pe != nil {
		err = pe
	}
	if !tk.probe { // a probe of a CRM taken as down says nothing of its rate
		d.pace.Done(pt, err, budget)
	}
	d.brk.report(tk, err)
	if d.cfg.Observer != nil {
		d.cfg.Observer.Attempt(time.Since(start), err)
	}
	if err == nil {
		return Outcome{ID: r.ID, Sent: true}
	}
	failures := r.Attempts + 1
	if d.cfg.MaxAttempts > 0 && failures >= d.cfg.MaxAttempts {
		d.log.Debug("delivery failed: giving up", "id", r.ID, "attempt", failures, "error", err)
		return Outcome{ID: r.ID, Err: errString(err), GiveUp: true}
	}
	wait := RetryDelay(err, failures, d.cfg.RetryDelay, d.cfg.RetryMaxDelay)
	d.log.Debug("delivery failed", "id", r.ID, "attempt", failures, "retry_in", wait, "error", err)
	return Outcome{ID: r.ID, RetryIn: wait, Err: errString(err)}
}

// settle records outcomes in batches: after the first outcome of a batch
// arrives it sleeps SettleDelay, then writes whatever has arrived since.
// At full speed that makes one statement and one commit per hundred or so
// records instead of one per few, and costs one wake-up per batch instead
// of one per outcome; a lone outcome is written SettleDelay after it
// arrived. A failed write is retried until it succeeds; after shutdown for
// at most 30s.
func (d *Deliverer) settle(ctx context.Context, results <-chan Outcome) {
	batch := make([]Outcome, 0, 2*d.cfg.Batch)
	for first := range results {
		batch = append(batch[:0], first)
		if d.cfg.SettleDelay > 0 && len(results) < cap(results)/2 {
			time.Sleep(d.cfg.SettleDelay)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		d.write(ctx, batch)
	}
}

// write records one batch of outcomes, retrying while the store is out of
// reach; once ctx is done, for at most 30s more.
func (d *Deliverer) write(ctx context.Context, batch []Outcome) {
	var giveUpAt time.Time
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := d.q.Settle(sctx, batch)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			if giveUpAt.IsZero() {
				giveUpAt = time.Now().Add(30 * time.Second)
			} else if time.Now().After(giveUpAt) {
				d.log.Error("could not record delivery outcomes before shutdown; the records are resent after their lease", "records", len(batch), "error", err)
				return
			}
		}
		if attempt == 1 || attempt%20 == 0 {
			d.log.Error("record delivery outcomes: will retry", "records", len(batch), "error", err)
		}
		time.Sleep(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second))
	}
	var sent, gaveUp int64
	for _, o := range batch {
		if o.Sent {
			sent++
		} else if o.GiveUp {
			gaveUp++
		}
	}
	for _, o := range batch {
		d.held.remove1(o.ID)
	}
	d.delivered.Add(sent)
	d.failed.Add(int64(len(batch)) - sent)
	d.gaveUp.Add(gaveUp)
	if d.cfg.Observer != nil {
		d.cfg.Observer.Settled(int(sent), len(batch)-int(sent))
	}
	if sent < int64(len(batch)) {
		select {
		case d.retried <- struct{}{}:
		default:
		}
	}
}

// keepLeases renews the leases of held records every Lease/3 until ctx is
// cancelled.
func (d *Deliverer) keepLeases(ctx context.Context) {
	t := time.NewTicker(d.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.q.Extend(ctx, d.held.list()); err != nil && ctx.Err() == nil {
				d.log.Error("renew leases", "error", err)
			}
		}
	}
}

// logThroughput logs a line every LogInterval while records move.
func (d *Deliverer) logThroughput(ctx context.Context) {
	t := time.NewTicker(d.cfg.LogInterval)
	defer t.Stop()
	last, lastAt := d.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := d.Stats()
			if st == last {
				continue
			}
			secs := now.Sub(lastAt).Seconds()
			d.log.Info("delivering",
				"delivered", st.Delivered,
				"per_second", int64(float64(st.Delivered-last.Delivered)/secs),
				"failed_attempts", st.Failed-last.Failed,
				"gave_up", st.GaveUp-last.GaveUp,
				"crm_down", d.brk.isDown())
			last, lastAt = st, now
		}
	}
}

// idSet is a set of record ids safe for concurrent use.
type idSet struct {
	mu  sync.Mutex
	ids map[int64]struct{}
}

func (s *idSet) add(id int64) {
	s.mu.Lock()
	if s.ids == nil {
		s.ids = make(map[int64]struct{})
	}
	s.ids[id] = struct{}{}
	s.mu.Unlock()
}

func (s *idSet) remove1(id int64) {
	s.mu.Lock()
	delete(s.ids, id)
	s.mu.Unlock()
}

func (s *idSet) remove(ids []int64) {
	s.mu.Lock()
	for _, id := range ids {
		delete(s.ids, id)
	}
	s.mu.Unlock()
}

func (s *idSet) list() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.ids))
	for id := range s.ids {
		out = append(out, id)
	}
	return out
}

// retry calls f until it succeeds or ctx ends, backing off between tries.
func retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		sleep(ctx, min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
