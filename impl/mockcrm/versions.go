package mockcrm

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// parseVersionKey returns the id and version of a key of the form
// common.VersionKey(id, version): goquiz-customer-<id> is version 1,
// goquiz-customer-<id>-v<version> (version 2 or more) a later one.
func parseVersionKey(key string) (id int64, version int, ok bool) {
	if id, ok := parseGoquizKey(key); ok {
		return id, 1, true
	}
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return 0, 0, false
	}
	idText, vText, ok := strings.Cut(rest, "-v")
	if !ok {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != idText {
		return 0, 0, false
	}
	v, err := strconv.Atoi(vText)
	if err != nil || v < 2 || strconv.Itoa(v) != vText {
		return 0, 0, false
	}
	return id, v, true
}

// versionLog records, per customer, the order in which versions were
// accepted, for the customers of which a version after the first was: a
// daily export's changes (see docs/daily-exports.md). The others were
// accepted in version 1 only, which needs no entry: a million of them
// cost nothing here.
type versionLog struct {
	mu     sync.Mutex
	order  map[int64][]int32
	newer  int64 // acceptances of a version after the first
	behind int64 // acceptances of a version older than one accepted before
}

func newVersionLog() *versionLog { return &versionLog{order: map[int64][]int32{}} }

// accepted records that version of id was accepted (a new key); hadFirst
// tells whether version 1 was accepted before.
func (l *versionLog) accepted(id int64, version int, hadFirst bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.order[id]
	if version <= 1 && !ok {
		return
	}
	if !ok && hadFirst {
		o = []int32{1}
	}
	if len(o) > 0 && slices.Max(o) > int32(version) {
		l.behind++
	}
	if version > 1 {
		l.newer++
	}
	l.order[id] = append(o, int32(version))
}

func (l *versionLog) counts() (newer, behind int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.newer, l.behind
}
