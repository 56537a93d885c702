package mockcrm

import "slices"

// What the tests read of a Server's accepted records, beyond Accepted.

// acceptedIDs returns the distinct customer ids accepted, in increasing
// order.
func (s *Server) acceptedIDs() []int64 {
	ids := s.ids.all()
	slices.Sort(ids)
	return ids
}

// acceptedVersions returns the versions of customer id the server
// accepted (each key once), in the order it accepted them: [1] for a
// customer sent once, [1 2] for one sent again after a change, nil for one
// never accepted. Versions are told by the Idempotency-Key
// (common.VersionKey); a request with another key counts as version 1.
func (s *Server) acceptedVersions(id int64) []int {
	return s.versions.versions(id, s.ids.has(id))
}

// all returns the ids in the set, in no particular order.
func (s *idSet) all() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.ids))
	for id := range s.ids {
		ids = append(ids, id)
	}
	return ids
}

// versions returns the versions of id in the order they were accepted.
func (l *versionLog) versions(id int64, hadFirst bool) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.order[id]
	if !ok {
		if hadFirst {
			return []int{1}
		}
		return nil
	}
	out := make([]int, len(o))
	for i, v := range o {
		out[i] = int(v)
	}
	return out
}
