package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"time"
)

// StartStandby starts a streaming standby of c on a free loopback port:
// a base backup of c taken with pg_basebackup -R, which writes the
// connection back to c and the standby signal, started with opts. c must
// accept replication connections from 127.0.0.1, as a cluster from Start
// does (initdb's trust authentication covers them). Stop it with Stop.
func (c *Cluster) StartStandby(ctx context.Context, opts Options) (*Cluster, error) {
	s := &Cluster{bindir: c.bindir, opts: opts, cred: c.cred}
	var err error
	s.dir, err = os.MkdirTemp("/tmp", "goquiz-pg-standby-")
	if err != nil {
		return nil, fmt.Errorf("create standby directory: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.remove()
			return nil, fmt.Errorf("hand standby directory to postgres: %w", err)
		}
	}
	backup := s.command(ctx, "pg_basebackup", "-D", s.dataDir(), "-R", "-X", "stream", "-c", "fast", "--no-sync",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres")
	if out, err := backup.CombinedOutput(); err != nil {
		s.remove()
		return nil, fmt.Errorf("pg_basebackup: %w: %s", err, lastLines(string(out), 5))
	}
	if err := s.startOnFreePort(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Promote makes a standby the primary (pg_ctl promote) and waits until
// it accepts writes.
func (c *Cluster) Promote(ctx context.Context) error {
	if out, err := c.command(ctx, "pg_ctl", "promote", "-w", "-D", c.dataDir()).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl promote: %w: %s", err, lastLines(string(out), 5))
	}
	db, err := sql.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		var recovering bool
		err := db.QueryRowContext(ctx, `SELECT pg_is_in_recovery()`).Scan(&recovering)
		if err == nil && !recovering {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby not promoted: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
