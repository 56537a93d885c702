package deliver

import (
	"context"
	"sync"
	"time"

	"goquiz/common"
)

// breaker notices when the CRM looks down (too many failures in a row that
// point at the CRM rather than at a record) and then lets a single probe
// request through at a time, more and more rarely up to a cap, until one
// gets an answer: the CRM is up again and everyone resumes at once.
type breaker struct {
	threshold int
	first     time.Duration
	max       time.Duration
	onChange  func(down bool, failure *common.PublishError)
	// notifyMu orders the calls of onChange.
	notifyMu sync.Mutex

	mu       sync.Mutex
	gen      uint64 // incremented each time the CRM goes down
	fails    int
	down     bool
	probing  bool
	probeAt  time.Time
	interval time.Duration
	changed  chan struct{} // closed, and replaced, when a probe ends
}

func newBreaker(threshold int, first, max time.Duration, onChange func(bool, *common.PublishError)) *breaker {
	if first <= 0 {
		first = 100 * time.Millisecond
	}
	if max < first {
		max = first
	}
	return &breaker{threshold: threshold, first: first, max: max, onChange: onChange}
}

// permit is the breaker's leave for one request to go out, handed out by
// acquire and given back to report with the request's result (or to
// abandon when the request was not sent after all).
type permit struct {
	probe bool   // the request is the probe of a CRM that looks down
	gen   uint64 // the breaker's generation when the request went out
}

// acquire waits until a request may go out and returns its permit, which
// report takes back with the request's result.
func (b *breaker) acquire(ctx context.Context) (permit, error) {
	for {
		b.mu.Lock()
		if !b.down {
			p := permit{gen: b.gen}
			b.mu.Unlock()
			return p, nil
		}
		now := time.Now()
		if !b.probing && !now.Before(b.probeAt) {
			b.probing = true
			p := permit{probe: true, gen: b.gen}
			b.mu.Unlock()
			return p, nil
		}
		changed := b.changed
		wait := b.probeAt.Sub(now)
		if b.probing || wait <= 0 {
			wait = b.max // the probe's end wakes us through changed
		}
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return permit{}, ctx.Err()
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// report records the result of a request: its failure, or nil when the
// CRM accepted it. A success of a request that went out before the CRM
// was taken as down says nothing about it now: it does not bring the CRM
// back up.
func (b *breaker) report(p permit, failure *common.PublishError) {
	outage := failure != nil && failure.Outage()
	b.mu.Lock()
	changed := b.update(p, outage)
	if changed && b.onChange != nil {
		// Taken before mu is let go, so that changes are told in the
		// order they happened; the callback runs without mu.
		b.notifyMu.Lock()
		down := b.down
		b.mu.Unlock()
		b.onChange(down, failure)
		b.notifyMu.Unlock()
		return
	}
	b.mu.Unlock()
}

// update applies a request's result to the state, under mu, and tells
// whether the CRM went down or came back.
func (b *breaker) update(p permit, outage bool) (changed bool) {
	if p.probe {
		b.probing = false
		defer b.signal()
	}
	if !outage && b.down && p.gen != b.gen {
		return false
	}
	if !outage {
		b.fails = 0
		if !b.down {
			return false
		}
		b.down = false
		if !p.probe {
			b.signal()
		}
		return true
	}
	b.fails++
	switch {
	case !b.down && b.fails >= b.threshold:
		b.down = true
		b.gen++
		b.changed = make(chan struct{})
		b.interval = b.first
		b.probeAt = time.Now().Add(b.interval)
		return true
	case b.down && p.probe:
		b.interval = min(2*b.interval, b.max)
		b.probeAt = time.Now().Add(b.interval)
	}
	return false
}

// abandon gives back a permit whose request was not sent after all.
func (b *breaker) abandon(p permit) {
	if !p.probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	b.signal()
}

// signal wakes the requests waiting in acquire.
func (b *breaker) signal() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// isDown tells whether the CRM looks down now.
func (b *breaker) isDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.down
}
