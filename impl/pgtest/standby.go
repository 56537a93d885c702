package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
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
	// Next to c's directory, where the postgres user may go.
	if err := s.create(ctx, filepath.Dir(c.dir), "goquiz-pg-standby-", "pg_basebackup", "-R", "-X", "stream",
		"-c", "fast", "--no-sync", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres"); err != nil {
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
