package postgres

import (
	"context"
	"maps"
	"time"
)

// A COPY that waits for data from its client is beyond PostgreSQL's
// timeouts: the server holds off cancellation while it reads COPY data,
// so statement_timeout never fires, and a client lost behind a proxy that
// keeps the connection open (or a NAT that acknowledges for it) is never
// noticed by the server's keepalives either. Such a session keeps its
// transaction open, and with it the locks of the rows it copied so far:
// a rerun of the same input would wait for them for ever. The reaper ends
// them. A goquiz load never leaves its COPY waiting: it streams a chunk
// it holds in memory, and its own writes fail after the timeout when they
// cannot go through. So a goquiz session (application_name starting with
// "goquiz") whose COPY waits for client data and has received nothing for
// the timeout is lost, and ending it (pg_terminate_backend, which the same
// role may do) only rolls back what its client gave up on. Sessions the
// role may not end (see mayEnd) are not looked at.
//
// The server records no time for the last bytes a COPY received, so the
// reaper dates a session's silence from the last moment it saw the
// COPY's byte count grow, or, for a session it sees for the first time,
// from the server's own record of the start of the COPY (query_start):
// a session lost long before the reaper started (a rerun after a
// partition) is ended as soon as one check, a quarter timeout later,
// confirms that it received nothing, not a full timeout after it was
// first seen. A load at work is never ended: its byte count grows
// between checks, as its client streams from memory.

// A statement's answer that its client does not read is beyond them too.
// The server sends the rows of an answer before the statement commits,
// and once the socket's buffers are full it waits to write the rest,
// interrupted by nothing but the end of its session (statement_timeout
// is held off while the server writes to its client) and the kernel's
// giving up on the peer (a quarter of an hour of retransmissions, never
// behind a proxy that froze with the socket open). Until then the
// statement keeps its locks: a claim whose answer is larger than the
// buffers (wide records) keeps every record it picked locked, so no other
// claim takes them (SKIP LOCKED) and a load changing them waits. A goquiz
// client reads every answer as it comes, and gives its connection up
// after the timeout without a byte; so a goquiz session seen writing the
// answer of the same statement at two looks, a statement started more
// than the timeout before, is lost, and the reaper ends it as well: the
// statement rolls back, and what it locked is free.

// stalled is what the reaper last saw of a COPY waiting for its client.
type stalled struct {
	start string // the session's backend_start, which tells a reused pid
	bytes int64  // bytes the COPY had received
	// since is when the COPY may last have received bytes: when the
	// reaper saw its byte count grow, or the start of the COPY.
	since time.Time
}

// reapEvery is how often the reaper looks, in timeouts: a session is
// ended once one look confirms what the previous one saw.
const reapEvery = 4

// mayEnd is the condition on a session of pg_stat_activity a that this
// role may end with pg_terminate_backend: a superuser's only when it is
// one too, another's when it has the privileges of its role or of
// pg_signal_backend. A role that is no superuser may see every session
// (pg_monitor, pg_read_all_stats) yet end only its own: asked to end
// another, the server fails the statement, and with it the rest of the
// look.
const mayEnd = `(pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_signal_backend', 'USAGE'))
	  AND (NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.usesysid)
	       OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user))`

// reapState is what the reaper saw at its last look: the COPY sessions
// waiting for their client, and the sessions writing an answer (see
// writing), by pid.
type reapState struct {
	copies  map[int]stalled
	writers map[int]writing
}

func newReapState() *reapState {
	return &reapState{copies: map[int]stalled{}, writers: map[int]writing{}}
}

// writing is a session the reaper saw waiting to write an answer to its
// client: the session (backend_start) and the statement (query_start).
type writing struct {
	start, query string
}

// reapLost looks for lost sessions once, what it saw before in seen;
// Open runs it at once and then every quarter timeout
// (Options.EndLostLoads).
func (d *DB) reapLost(seen *reapState) {
	ctx, cancel := context.WithTimeout(d.done, d.timeout)
	defer cancel()
	if err := d.reap(ctx, seen.copies); err != nil {
		d.log.Debug("look for lost load sessions", "error", err)
	}
	if err := d.reapWriters(ctx, seen.writers); err != nil {
		d.log.Debug("look for sessions whose answer is not read", "error", err)
	}
}

// reapWriters ends the goquiz sessions waiting to write the answer of a
// statement that started more than the timeout ago, and that waited to
// write the answer of the same statement at the last look, and updates
// seen.
func (d *DB) reapWriters(ctx context.Context, seen map[int]writing) error {
	// The age of the statement is measured by the server's clock, so that
	// the two clocks need not agree.
	rows, err := d.db.QueryContext(ctx, `
		SELECT a.pid, a.backend_start::text, a.query_start::text,
			extract(epoch FROM clock_timestamp() - a.query_start)
		FROM pg_stat_activity a
		WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND a.application_name LIKE 'goquiz%' AND a.state = 'active'
		  AND a.wait_event = 'ClientWrite' AND a.pid <> pg_backend_pid() AND `+mayEnd)
	if err != nil {
		return err
	}
	defer rows.Close()
	current := map[int]writing{}
	var stuck []int // writing the same answer at the last look, and old enough
	for rows.Next() {
		var pid int
		var w writing
		var age float64 // seconds since the statement started
		if err := rows.Scan(&pid, &w.start, &w.query, &age); err != nil {
			return err
		}
		if seen[pid] == w && time.Duration(age*float64(time.Second)) >= d.timeout {
			stuck = append(stuck, pid)
		}
		current[pid] = w
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	clear(seen)
	maps.Copy(seen, current)
	for _, pid := range stuck {
		w := current[pid]
		var ended bool
		err := d.db.QueryRowContext(ctx, `
			SELECT coalesce(bool_or(pg_terminate_backend(a.pid)), false)
			FROM pg_stat_activity a
			WHERE a.pid = $1 AND a.backend_start::text = $2 AND a.query_start::text = $3
			  AND a.state = 'active' AND a.wait_event = 'ClientWrite'`, pid, w.start, w.query).Scan(&ended)
		if err != nil {
			return err
		}
		if ended {
			d.log.Warn("ended a lost session: it waits to write an answer its client does not read, the same at the last look, of a statement older than DB_TIMEOUT",
				"pid", pid)
			delete(seen, pid)
		}
	}
	return nil
}

// reap ends the goquiz COPY sessions waiting for client data that have
// received nothing since seen showed them, and nothing for the timeout
// (see stalled.since), and updates seen.
func (d *DB) reap(ctx context.Context, seen map[int]stalled) error {
	// The age of the COPY is measured by the server's clock, so that the
	// two clocks need not agree.
	rows, err := d.db.QueryContext(ctx, `
		SELECT a.pid, a.backend_start::text, p.bytes_processed,
			extract(epoch FROM clock_timestamp() - greatest(a.query_start, a.state_change))
		FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid
		WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND p.command = 'COPY FROM' AND p.type = 'PIPE'
		  AND a.application_name LIKE 'goquiz%' AND a.state = 'active'
		  AND a.wait_event = 'ClientRead' AND a.pid <> pg_backend_pid() AND `+mayEnd)
	if err != nil {
		return err
	}
	defer rows.Close()
	now := time.Now()
	current := map[int]stalled{}
	var silent []int // seen before, and nothing received since
	for rows.Next() {
		var pid int
		var s stalled
		var age float64 // seconds since the COPY started
		if err := rows.Scan(&pid, &s.start, &s.bytes, &age); err != nil {
			return err
		}
		prev, ok := seen[pid]
		switch {
		case !ok || prev.start != s.start:
			s.since = now.Add(-time.Duration(age * float64(time.Second)))
		case prev.bytes == s.bytes:
			s.since = prev.since
			silent = append(silent, pid)
		default:
			s.since = now
		}
		current[pid] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	clear(seen)
	maps.Copy(seen, current)
	for _, pid := range silent {
		s := current[pid]
		if now.Sub(s.since) < d.timeout {
			continue
		}
		var ended bool
		err := d.db.QueryRowContext(ctx, `
			SELECT coalesce(bool_or(pg_terminate_backend(a.pid)), false)
			FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid
			WHERE a.pid = $1 AND a.backend_start::text = $2 AND p.bytes_processed = $3
			  AND a.wait_event = 'ClientRead'`, pid, s.start, s.bytes).Scan(&ended)
		if err != nil {
			return err
		}
		if ended {
			d.log.Warn("ended a lost load session: its COPY waits for its client, received nothing since the last look, and showed no progress for DB_TIMEOUT",
				"pid", pid, "no_progress_seen_for", now.Sub(s.since).Round(time.Millisecond))
			delete(seen, pid)
		}
	}
	return nil
}
