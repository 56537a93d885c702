package main_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/faultproxy"
	"goquiz/internal/testbin"
)

// A load whose third chunk's commit answer is lost, with no connection
// getting through afterwards to ask whether it committed, does not count
// that chunk as committed nor leaves it out: it says that it may have
// been. Here it was.
func TestLostCommitAnswerSaysTheChunkMayBeStored(t *testing.T) {
	b := customersCSV(5000)
	path := writeFile(t, "customers.csv", b.String())
	dsn := pgtest.DSN(t)
	p, proxied := pgtest.Proxy(t, dsn)
	notified, commits := false, 0
	p.FreezeWhen(func(_ int, dir faultproxy.Dir, data []byte) faultproxy.Action {
		if dir == faultproxy.ToServer && bytes.Contains(data, []byte("txid_current(), (extract")) {
			notified = true // a chunk about to commit
		}
		if notified && dir == faultproxy.ToClient && bytes.Contains(data, []byte("COMMIT\x00")) {
			notified = false
			if commits++; commits == 3 {
				p.SetNew(faultproxy.NewHang)
				return faultproxy.HoldAndFreeze
			}
		}
		return faultproxy.Pass
	})

	res := testbin.Run(t, parser(t), []string{"DSN=" + proxied, "CHUNK_SIZE=1000", "LOAD_CONNECTIONS=1",
		"DB_TIMEOUT=1s", "CONNECT_TIMEOUT=2s"}, nil, path)
	require.Equal(t, 1, res.Code, res.Stderr)
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	assert.Regexp(t, `^parser: .*: store records 2001 to 3000: write chunk: connection lost, stored again for 2s \(CONNECT_TIMEOUT\) without success: .*`+
		`\(committed before the error: 2000 stored, 0 duplicates, and 1000 more may have been: the answer to their commit was lost; `+
		`rerun the same input to finish: what is stored is skipped\)$`, lines[len(lines)-1])
	assert.Equal(t, 3000, len(stored(t, dsn)), "the third chunk committed")
}
