package main_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// TestLoadConnectionsKeepTheFirstRowOfAnId loads a file whose ids come
// again one to three chunks later, with other values, through one to
// three connections at once: the first row of each id is stored, the
// others are duplicates, whatever order the chunks commit in.
func TestLoadConnectionsKeepTheFirstRowOfAnId(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,first_name,last_name,email,phone\n")
	const n, back = 3000, 150
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,First%d,L,f%d@x.com,1\n", i, i, i)
		if i > back {
			fmt.Fprintf(&b, "%d,Later,L,later@x.com,2\n", i-back)
		}
		if i > 2*back && i%3 == 0 {
			fmt.Fprintf(&b, "%d,Latest,L,latest@x.com,3\n", i-2*back)
		}
	}
	path := writeFile(t, "repeats.csv", b.String())
	for _, conns := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("LOAD_CONNECTIONS=%d", conns), func(t *testing.T) {
			dsn := pgtest.DSN(t)
			res := testbin.Run(t, parser(t), []string{"DSN=" + dsn, "CHUNK_SIZE=100", fmt.Sprintf("LOAD_CONNECTIONS=%d", conns)}, nil, path)
			require.Equal(t, 0, res.Code, res.Stderr)
			dups := n - back + (n-2*back)/3
			assert.Contains(t, res.Stdout, fmt.Sprintf("read %d rows: %d stored, %d duplicates, 0 rejected", n+dups, n, dups))
			got := stored(t, dsn)
			require.Len(t, got, n)
			for id, v := range got {
				require.Equal(t, fmt.Sprintf("First%d", id), v[0], "id %d", id)
			}
		})
	}
}
