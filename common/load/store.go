package load

import (
	"context"
	"sync"

	"goquiz/common"
)

// storer stores chunks with several writers at once (see Run): a
// goroutine per writer, fed through in[i], answering on out.
type storer struct {
	in   []chan chunk
	out  chan stored
	busy int // chunks handed to a writer and not answered yet
	wg   sync.WaitGroup
	// recent holds the ids of the last len(in)-1 chunks, oldest first:
	// those that may be storing beside the next one.
	recent []map[int64]struct{}
	// ended holds the reader's totals at the end of each chunk committed
	// out of order, by number, until every chunk before it committed;
	// next is the number of the first chunk not committed.
	ended          map[int][2]int64
	next           int
	read, rejected int64
}

// stored is a writer's answer for a chunk.
type stored struct {
	chunk
	res common.ChunkResult
	err error
}

// newStorer starts a goroutine per writer of ws, storing under ctx the
// chunks handed to it, until stop.
func newStorer(ctx context.Context, ws []common.ChunkWriter) *storer {
	s := &storer{in: make([]chan chunk, len(ws)), out: make(chan stored, len(ws)), ended: map[int][2]int64{}}
	for range len(ws) - 1 {
		s.recent = append(s.recent, map[int64]struct{}{})
	}
	for i, w := range ws {
		s.in[i] = make(chan chunk)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for c := range s.in[i] {
				res, err := w.WriteChunk(ctx, c.rows)
				s.out <- stored{chunk: c, res: res, err: err} // out holds one answer per writer
			}
		}()
	}
	return s
}

// stop ends the writers' goroutines once they have answered.
func (s *storer) stop() {
	for _, in := range s.in {
		close(in)
	}
	s.wg.Wait()
}

// leaveOut removes from c the rows whose ids a chunk that may be storing
// beside it holds, counting them in c.left, and remembers c's ids.
func (s *storer) leaveOut(c *chunk) {
	if len(s.recent) == 0 {
		return
	}
	kept := c.rows[:0]
	for _, r := range c.rows {
		if s.holds(r.ID) {
			c.left++
			continue
		}
		kept = append(kept, r)
	}
	c.rows = kept
	oldest := s.recent[0]
	clear(oldest)
	for _, r := range c.rows {
		oldest[r.ID] = struct{}{}
	}
	s.recent = append(s.recent[1:], oldest)
}

// holds tells whether one of the recent chunks holds id.
func (s *storer) holds(id int64) bool {
	for _, ids := range s.recent {
		if _, ok := ids[id]; ok {
			return true
		}
	}
	return false
}

// committed notes that c committed, and returns the reader's totals at
// the end of the last chunk that committed after every chunk before it.
func (s *storer) committed(c chunk) (read, rejected int64) {
	s.ended[c.seq] = [2]int64{c.read, c.rejected}
	for {
		e, ok := s.ended[s.next]
		if !ok {
			return s.read, s.rejected
		}
		delete(s.ended, s.next)
		s.read, s.rejected = e[0], e[1]
		s.next++
	}
}
