package postgres

import (
	"slices"
)

// seenIDs is the set of the ids a load read, in memory: the ids grouped by
// their high 48 bits, each group's low 16 bits in a container, a sorted
// list up to listMax of them and then a bitmap of 65,536 bits (8 KiB).
// The ids of an export are mostly dense (numbered by a database): a
// million of them take about 128 KiB, ten million 1.3 MiB. Sparse ids
// take up to about 50 bytes each; a load whose set grows past
// seenMaxBytes moves it to a table in the database (see loadTable).
type seenIDs struct {
	groups map[int64]*idGroup
	bytes  int // an estimate of the memory held
}

// idGroup is the container of the ids that share their high 48 bits.
type idGroup struct {
	list []uint16         // sorted; nil once bits is used
	bits *[1 << 10]uint64 // 65,536 bits
}

const (
	// listMax is the longest list of a group: past it, the bitmap takes
	// less room.
	listMax = 4096
	// groupBytes is the estimated cost of a group beyond its ids.
	groupBytes = 64
)

// seenMaxBytes is how much memory the set may take before the load moves
// it to the database: the parser stays well under 64 MiB (a variable for
// tests).
var seenMaxBytes = 16 << 20

func newSeenIDs() *seenIDs { return &seenIDs{groups: map[int64]*idGroup{}} }

// split returns the group key and low bits of id.
func split(id int64) (int64, uint16) { return id >> 16, uint16(id & 0xffff) }

// has tells whether id is in the set.
func (s *seenIDs) has(id int64) bool {
	k, low := split(id)
	g := s.groups[k]
	if g == nil {
		return false
	}
	if g.bits != nil {
		return g.bits[low>>6]&(1<<(low&63)) != 0
	}
	_, found := slices.BinarySearch(g.list, low)
	return found
}

// add adds id to the set.
func (s *seenIDs) add(id int64) {
	k, low := split(id)
	g := s.groups[k]
	if g == nil {
		g = &idGroup{}
		s.groups[k] = g
		s.bytes += groupBytes
	}
	if g.bits != nil {
		g.bits[low>>6] |= 1 << (low & 63)
		return
	}
	i, found := slices.BinarySearch(g.list, low)
	if found {
		return
	}
	if len(g.list) < listMax {
		before := cap(g.list)
		g.list = slices.Insert(g.list, i, low)
		s.bytes += 2 * (cap(g.list) - before)
		return
	}
	g.bits = new([1 << 10]uint64)
	for _, v := range g.list {
		g.bits[v>>6] |= 1 << (v & 63)
	}
	g.bits[low>>6] |= 1 << (low & 63)
	s.bytes += 8<<10 - 2*cap(g.list)
	g.list = nil
}

// all calls f with every id of the set, group by group.
func (s *seenIDs) all(f func(id int64)) {
	for k, g := range s.groups {
		if g.bits != nil {
			for w, word := range g.bits {
				for b := 0; word != 0; b++ {
					if word&1 != 0 {
						f(k<<16 | int64(w*64+b))
					}
					word >>= 1
				}
			}
			continue
		}
		for _, low := range g.list {
			f(k<<16 | int64(low))
		}
	}
}
