package e2e_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Scenario 6b: the parser loading on three connections at once
// (LOAD_CONNECTIONS=3), killed with SIGKILL mid-file while the integrator
// delivers. The chunks it committed, whatever their order, stay; the
// rerun, on three connections too, skips them and loads the rest: every
// row stored once, and delivered once.
func TestKillParserLoadingOnSeveralConnections(t *testing.T) {
	const n, chunk = 20000, 1000
	sc := newScenario(t, n, 11, faults{Jitter: 2 * time.Millisecond})
	dsn, db, want, crm := sc.dsn, sc.db, sc.want, sc.crm
	input, err := os.ReadFile(sc.path)
	require.NoError(t, err)
	env := []string{"DSN=" + dsn, fmt.Sprintf("CHUNK_SIZE=%d", chunk), "LOAD_CONNECTIONS=3"}

	start := time.Now()
	p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
	waitListening(t, db, 1) // and the schema exists

	// Half the input: the parser stores what it can and waits for more.
	first := pipeInput(t, parserBin(t), env)
	first.write(t, input[:rowsEnd(input, n/2)])
	waitFor(t, time.Minute, 5*time.Millisecond, "a few chunks stored", func() bool {
		return count(db, `SELECT count(*) FROM customers`) >= 4*chunk
	})
	first.p.Kill()
	stored := count(db, `SELECT count(*) FROM customers`)
	require.Zero(t, stored%chunk, "whole chunks committed: %d rows", stored)

	parsed(t, runParser(t, dsn, sc.path, env[1:]...), n, n-stored, stored, 0)
	took := deliverAll(t, db, want, p, start)
	st := checkOnce(t, crm, db, want)
	figures(t, "6b (SIGKILL parser loading on 3 connections)", n, took, st,
		fmt.Sprintf("stored_by_run=%d,%d stored_twice=0", stored, n-stored))
}
