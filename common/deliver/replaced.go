package deliver

import (
	"context"
	"slices"
	"sync"
	"time"

	"goquiz/common"
)

// waiting are the records this Deliverer claimed and has not started
// sending (in the queue of work, or with a worker waiting for the pacer
// or the breaker), with the version claimed of each, and those of them
// found replaced by a newer version: a worker gives those back unsent.
// A record whose request has started is in flight: it is finished first,
// and the newer version is claimed once its claim ends.
type waiting struct {
	mu   sync.Mutex
	recs map[int64]waitingRecord
}

// waitingRecord is the version of a record waiting, and whether a newer
// one was found stored.
type waitingRecord struct {
	version  int
	replaced bool
}

func newWaiting() *waiting {
	return &waiting{recs: map[int64]waitingRecord{}}
}

// add records the records of a claim as waiting to be sent.
func (w *waiting) add(rs []common.ClaimedRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range rs {
		w.recs[r.ID] = waitingRecord{version: r.Version}
	}
}

// list returns the records waiting and not found replaced yet, in the
// order of their ids (the store looks them up in that order), with their
// versions.
func (w *waiting) list() (ids []int64, versions []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids = make([]int64, 0, len(w.recs))
	for id, r := range w.recs {
		if !r.replaced {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	versions = make([]int, len(ids))
	for i, id := range ids {
		versions[i] = w.recs[id].version
	}
	return ids, versions
}

// versionCheckGap is the least time between two looks for newer
// versions: a load announces each chunk it commits, up to a hundred a
// second, and a look costs the database about 3 ms per 2,000 records
// waiting; a version replaced is found within this gap of the load's
// notification at worst.
const versionCheckGap = 50 * time.Millisecond

// mark records that the records replaced, listed as waiting in the
// versions of ids and versions, have a newer version stored; a record
// whose request started since, or that waits in another version now, is
// left alone.
func (w *waiting) mark(replaced, ids []int64, versions []int) {
	if len(replaced) == 0 {
		return
	}
	listed := make(map[int64]int, len(ids))
	for i, id := range ids {
		listed[id] = versions[i]
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range replaced {
		if r, ok := w.recs[id]; ok && r.version == listed[id] {
			r.replaced = true
			w.recs[id] = r
		}
	}
}

// take removes r from the records waiting, as its request is about to
// start (or it is given back), and reports whether it was found replaced
// by a newer version.
func (w *waiting) take(r common.ClaimedRecord) (replaced bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	got, ok := w.recs[r.ID]
	if !ok || got.version != r.Version {
		return false
	}
	delete(w.recs, r.ID)
	return got.replaced
}

// watchVersions looks for newer versions of the records waiting to be
// sent, when woken (a load announced records, see Run) and every
// PollInterval, until ctx is done, and marks those replaced.
func (d *Deliverer) watchVersions(ctx context.Context, vc common.VersionChecker, wake <-chan struct{}) {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		ids, versions := d.waiting.list()
		if len(ids) == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		replaced, err := vc.Replaced(cctx, ids, versions)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				failures++
				if failures == 1 || failures%20 == 0 {
					d.log.Warn("look for newer versions of the records waiting to be sent: will retry", "error", err)
				}
			}
			continue
		}
		failures = 0
		d.waiting.mark(replaced, ids, versions)
		select { // wake-ups meanwhile wait in wake
		case <-ctx.Done():
			return
		case <-time.After(versionCheckGap):
		}
	}
}

// fanOutWakes passes every wake-up of src to the claimer's channel and the
// version watcher's, counting them, until ctx is done.
func (d *Deliverer) fanOutWakes(ctx context.Context, src <-chan struct{}, claimer, versions chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-src:
		}
		d.wakes.Add(1)
		for _, c := range []chan<- struct{}{claimer, versions} {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}

// pokeVersions asks the version watcher to look again.
func (d *Deliverer) pokeVersions() {
	select {
	case d.versionWake <- struct{}{}:
	default:
	}
}
