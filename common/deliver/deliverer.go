package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"goquiz/common"
	"goquiz/common/pace"
)

// counts are what a Deliverer did since it started, for its logs.
type counts struct {
	// Claimed counts records claimed from the store.
	Claimed int64
	// Delivered counts records the CRM accepted, whose state is recorded.
	Delivered int64
	// Failed counts attempts that did not deliver, each scheduled for retry
	// or given up.
	Failed int64
	// Released counts claimed records given back unsent: at shutdown,
	// because their claim's lease ran out before they were sent, or
	// because a newer version replaced them (Replaced).
	Released int64
	// GaveUp counts records that reached MaxAttempts and became failed;
	// they are counted in Failed too.
	GaveUp int64
	// Rejected counts records the CRM refused for good (GiveUpOn); they
	// are counted in Failed too.
	Rejected int64
	// Replaced counts claimed records given back unsent because a newer
	// version was stored before their request started; they are counted
	// in Released too.
	Replaced int64
}

// Deliverer is the integrator's engine: it claims due records from a Queue,
// sends each to the CRM through a Publisher with Workers requests in flight,
// and records the outcomes in batches, retrying every failure with
// exponential backoff until the CRM accepts the record (or, when
// MaxAttempts is set, until the record is given up).
//
// It is made of a claimer (claimer.go) that keeps a queue of work topped
// up, workers (worker.go) that send, a settler (settle.go) that writes
// outcomes, a lease keeper (leases.go), when its Queue is a
// common.VersionChecker, a version watcher (replaced.go) that finds the
// records waiting to be sent that a newer version replaced, and when it
// is a common.LimitSharer, a sharer of the rate limit the pacers found
// (limits.go); what it holds is in holdings.
type Deliverer struct {
	q   common.Queue
	pub common.Publisher
	cfg Config
	log *slog.Logger
	brk *breaker
	// pacer paces request starts to what the CRM allows.
	pacer *pace.Pacer
	quota *quotas
	// held are the claims this Deliverer holds.
	held *holdings
	// retried wakes the claimer when claims ended with records claimable
	// again (retries scheduled, records not sent), which it could not see
	// while it held them.
	retried chan struct{}
	// needWork wakes the claimer when the records waiting for a worker
	// have run down to lowWater.
	needWork chan struct{}
	lowWater atomic.Int64
	// claimMu keeps a claim made off the claimer's goroutine (a probe's,
	// see probeJob) from being swept before it is held; probeTried, under
	// it, is the kind of record the next probe asks for first (see probed).
	claimMu    sync.Mutex
	probeTried bool
	// lostClaim asks the claimer to sweep: a probe's claim failed, and
	// may have committed all the same.
	lostClaim atomic.Bool

	// waiting are the records claimed and not started, watched for newer
	// versions (see watchVersions) when the Queue is a
	// common.VersionChecker; nil otherwise. versionWake wakes the
	// watcher; wakes counts the wake-ups of Config.Wake.
	waiting     *waiting
	versionWake chan struct{}
	wakes       atomic.Int64

	claimed, delivered, failed, released, gaveUp, rejected, replaced atomic.Int64
	// attempts counts requests sent, for sizing claims.
	attempts atomic.Int64
	// giveUp is when a shutdown stops trying the store: grace after it
	// began (see giveUpAt).
	stopping sync.Once
	giveUp   time.Time
	grace    time.Duration
}

// New returns a Deliverer of q's records to pub.
func New(q common.Queue, pub common.Publisher, cfg Config) *Deliverer {
	cfg.defaults()
	d := &Deliverer{q: q, pub: pub, cfg: cfg, log: cfg.Logger, held: newHoldings(), grace: shutdownGrace,
		retried: make(chan struct{}, 1), needWork: make(chan struct{}, 1)}
	d.brk = newBreaker(cfg.DownAfter, cfg.RetryDelay, min(cfg.ProbeMaxInterval, cfg.RetryMaxDelay), d.crmChanged)
	po, _ := cfg.Observer.(common.PaceObserver)
	pc := pace.Config{MaxRate: cfg.MaxRate, Fixed: cfg.FixedRate, Workers: cfg.Workers, Logger: cfg.Logger, Observer: po}
	d.quota = newQuotas(cfg.Observer)
	pc.OnQuota = d.quota.note
	d.pacer = pace.New(pc)
	return d
}

func (d *Deliverer) crmChanged(down bool, failure *common.PublishError) {
	if down {
		d.log.Warn("CRM looks down: probing until it answers", "failures_in_a_row", d.cfg.DownAfter, "last_error", failure.Error())
	} else {
		d.log.Info("CRM is up again: resuming delivery")
	}
	if d.cfg.Observer != nil {
		d.cfg.Observer.CRMDown(down)
	}
}

// counts returns the counts so far.
func (d *Deliverer) counts() counts {
	return counts{
		Claimed:   d.claimed.Load(),
		Delivered: d.delivered.Load(),
		Failed:    d.failed.Load(),
		Released:  d.released.Load(),
		GaveUp:    d.gaveUp.Load(),
		Rejected:  d.rejected.Load(),
		Replaced:  d.replaced.Load(),
	}
}

// Run delivers until ctx is cancelled, then shuts down gracefully: it stops
// claiming, lets the requests in flight finish (each bounded by
// RequestTimeout), records what they delivered and gives the records it
// holds but did not send back to the store. Store errors while running
// are logged and retried, never fatal; ctx's end is how Run is asked to
// stop, so it is not an error. Run returns nil once all of that is done,
// or an error saying what the store could not be told before it had to
// stop (outcomes not written, claims not given back): those records wait
// for their lease to run out, and may be sent again.
func (d *Deliverer) Run(ctx context.Context) error {
	// Room for two claims: the claimer tops the queue up once it has run
	// down to one claim's worth, so that it never blocks on a send (which
	// would cost a wake-up per record) and the workers never run dry.
	work := make(chan job, 2*d.cfg.Batch)
	results := make(chan result, 2*d.cfg.Batch)

	// The lease keeper and the throughput log outlive the workers: they
	// stop after the last outcome is recorded.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { d.keepLeases(bgCtx) })
	background.Go(func() { d.logThroughput(bgCtx) })
	background.Go(func() { d.recordQuotas(bgCtx) })
	if ls, ok := d.q.(common.LimitSharer); ok && !d.cfg.FixedRate {
		background.Go(func() { d.shareLimits(bgCtx, ls, d.pacer, limitShareEvery) })
	}
	if vc, ok := d.q.(common.VersionChecker); ok {
		// A load announces the records it stored: the watcher looks for
		// newer versions of the records waiting then, as the claimer
		// looks for new records.
		d.waiting, d.versionWake = newWaiting(), make(chan struct{}, 1)
		if src := d.cfg.Wake; src != nil {
			claimerWake := make(chan struct{}, 1)
			d.cfg.Wake = claimerWake
			background.Go(func() { d.fanOutWakes(bgCtx, src, claimerWake, d.versionWake) })
		}
		background.Go(func() { d.watchVersions(bgCtx, vc, d.versionWake) })
	}
	d.resumeQuota(ctx)
	defer func() {
		stopBackground()
		background.Wait()
	}()

	var settler, workers sync.WaitGroup
	settler.Go(func() { d.settle(ctx, results) })
	for range d.cfg.Workers {
		workers.Go(func() { d.work(ctx, work, results) })
	}

	left := d.claim(ctx, work)
	close(work)
	workers.Wait()
	for j := range work { // claimed, never picked up
		left = append(left, j)
	}
	for _, j := range left {
		results <- result{job: j}
	}
	close(results)
	settler.Wait()

	err := d.releaseHeld(ctx)
	st := d.counts()
	d.log.Info("integrator stopped", "delivered", st.Delivered, "failed_attempts", st.Failed, "gave_up", st.GaveUp, "released", st.Released, "rejected", st.Rejected, "replaced_unsent", st.Replaced)
	return err
}

// releaseHeld gives back the claims still held at shutdown, keeping the
// records whose outcome could not be written, and says what could not be
// done. First it ends the claims of ours it does not hold: a claim whose
// statement the shutdown cut short may have committed all the same (the
// claimer, having stopped, sweeps no more).
func (d *Deliverer) releaseHeld(ctx context.Context) error {
	var errs []error
	ids := d.held.ids()
	if err := d.retryStore(ctx, "end lost claims", func(ctx context.Context) error {
		return d.q.Sweep(ctx, ids)
	}); err != nil {
		errs = append(errs, fmt.Errorf("end lost claims: %w; their records are taken over when their lease runs out", err))
	}
	// The claims of outcomes not written are still held: they never end.
	keep := d.held.unrecorded()
	if len(keep) > 0 {
		errs = append(errs, fmt.Errorf("%d delivery outcomes could not be recorded; their records are sent again once their lease runs out", len(keep)))
	}
	if len(ids) == 0 {
		return joinOnOneLine(errs)
	}
	err := d.retryStore(ctx, "release unsent claims", func(ctx context.Context) error {
		return d.q.Release(ctx, ids, keep)
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("release %d claims: %w; their records are taken over when their lease runs out", len(ids), err))
	} else {
		d.released.Add(int64(d.held.end(ids)))
	}
	return joinOnOneLine(errs)
}

// joinOnOneLine joins errs, each wrapped, with "; " between them: the
// error at exit is one line, and errors.Join's line breaks would leave
// nothing between its parts once put on one.
func joinOnOneLine(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	args := make([]any, len(errs))
	for i, err := range errs {
		args[i] = err
	}
	return fmt.Errorf(strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; "), args...)
}

// logThroughput logs a line every LogInterval while records move.
func (d *Deliverer) logThroughput(ctx context.Context) {
	t := time.NewTicker(d.cfg.LogInterval)
	defer t.Stop()
	last, lastAt := d.counts(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := d.counts()
			if st == last {
				continue
			}
			secs := now.Sub(lastAt).Seconds()
			d.log.Info("delivering",
				"delivered", st.Delivered,
				"per_second", int64(float64(st.Delivered-last.Delivered)/secs),
				"failed_attempts", st.Failed-last.Failed,
				"gave_up", st.GaveUp-last.GaveUp,
				"rejected", st.Rejected-last.Rejected,
				"crm_down", d.brk.isDown())
			last, lastAt = st, now
		}
	}
}
