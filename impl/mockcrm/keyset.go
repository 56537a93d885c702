package mockcrm

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// shardCount is the number of independently locked shards of a set.
const shardCount = 64

// keyPrefix starts the idempotency keys goquiz sends (see
// common.IdempotencyKey), which are stored compactly as their id.
const keyPrefix = "goquiz-customer-"

// keySet is a set of idempotency keys, safe for concurrent use. Keys of
// the form common.IdempotencyKey(n) are stored as the integer n, others
// as strings: a million goquiz keys take a few tens of megabytes.
type keySet struct {
	seed   maphash.Seed
	shards [shardCount]keyShard
}

// keyShard is one locked part of a keySet.
type keyShard struct {
	mu   sync.Mutex
	ids  map[int64]struct{}
	strs map[string]struct{}
	_    [40]byte // keeps shards on separate cache lines
}

// newKeySet returns an empty set.
func newKeySet() *keySet {
	s := &keySet{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].ids = make(map[int64]struct{})
		s.shards[i].strs = make(map[string]struct{})
	}
	return s
}

// add adds key to the set and reports whether it was new.
func (s *keySet) add(key string) bool {
	if id, ok := parseGoquizKey(key); ok {
		return s.addID(id)
	}
	sh := &s.shards[maphash.String(s.seed, key)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, dup := sh.strs[key]; dup {
		return false
	}
	sh.strs[key] = struct{}{}
	return true
}

// addID adds common.IdempotencyKey(id) to the set and reports whether it
// was new.
func (s *keySet) addID(id int64) bool {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, dup := sh.ids[id]; dup {
		return false
	}
	sh.ids[id] = struct{}{}
	return true
}

// parseGoquizKey returns n when key is exactly common.IdempotencyKey(n).
func parseGoquizKey(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != rest {
		return 0, false
	}
	return n, true
}

// idSet is a set of customer ids, safe for concurrent use.
type idSet struct {
	n      atomic.Int64
	shards [shardCount]idShard
}

// idShard is one locked part of an idSet.
type idShard struct {
	mu  sync.Mutex
	ids map[int64]struct{}
	_   [48]byte // keeps shards on separate cache lines
}

// newIDSet returns an empty set.
func newIDSet() *idSet {
	s := &idSet{}
	for i := range s.shards {
		s.shards[i].ids = make(map[int64]struct{})
	}
	return s
}

// add adds id to the set.
func (s *idSet) add(id int64) {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, dup := sh.ids[id]; !dup {
		sh.ids[id] = struct{}{}
		s.n.Add(1)
	}
}

// has reports whether id is in the set.
func (s *idSet) has(id int64) bool {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.ids[id]
	return ok
}

// len returns the number of ids in the set.
func (s *idSet) len() int64 {
	return s.n.Load()
}

// all returns the ids in the set, in no particular order.
func (s *idSet) all() []int64 {
	ids := make([]int64, 0, s.len())
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id := range sh.ids {
			ids = append(ids, id)
		}
		sh.mu.Unlock()
	}
	return ids
}

// shardOf spreads ids, often consecutive, over the shards.
func shardOf(id int64) uint64 {
	return (uint64(id) * 0x9e3779b97f4a7c15 >> 32) % shardCount
}
