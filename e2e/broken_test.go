package e2e_test

import (
	stdcsv "encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/csv"
	"goquiz/impl/gen"
	"goquiz/impl/pgtest"
)

// maxRecord is the parser's record size limit in scenario 9.
const maxRecord = 1024

// wantReject is a record the parser must reject: why (a part of the
// reason), and its text (or the start of it).
type wantReject struct {
	reason string
	text   string
	prefix bool
}

// brokenInput is a CSV input with bad records mixed in.
type brokenInput struct {
	data    []byte
	records int
	good    map[int64]common.Customer
	rejects map[int64]wantReject // by line
	kinds   map[string]int       // bad records by kind
}

// csvField returns s as a CSV field, quoted when needed.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// makeBrokenInput returns an input of n records, ids 1 to n, about a sixth
// of them bad: wrong field counts, bad ids, stray quotes, text after a
// closing quote; one record past the size limit in the middle, and a quote
// that never closes in the last. Some good records span two lines (a
// quoted line break), so that line numbers are not record numbers.
func makeBrokenInput(n int, seed int64) brokenInput {
	in := brokenInput{good: map[int64]common.Customer{}, rejects: map[int64]wantReject{}, kinds: map[string]int{}, records: n}
	rng := rand.New(rand.NewPCG(uint64(seed), 99))
	var b strings.Builder
	b.WriteString(gen.Header + "\n")
	line := int64(2)
	row := func(fields ...string) string { return strings.Join(fields, ",") }
	reject := func(kind, text, reason string) {
		in.rejects[line] = wantReject{reason: reason, text: text}
		in.kinds[kind]++
		b.WriteString(text + "\n")
		line++
	}
	for c := range gen.Customers(int64(n), seed) {
		id := strconv.FormatInt(c.ID, 10)
		f, l, e, p := csvField(c.FirstName), csvField(c.LastName), c.Email, c.Phone
		switch {
		case c.ID == int64(n):
			// The last record opens a quote that never closes: it runs to
			// the end of the input.
			text := row(id, `"never closes`, l, e, p)
			in.rejects[line] = wantReject{reason: fmt.Sprintf("quote opened on line %d never closes", line), text: text, prefix: true}
			in.kinds["unclosed quote"]++
			b.WriteString(text + "\n")
			continue
		case c.ID == int64(n/2):
			text := row(id, strings.Repeat("x", 2*maxRecord), l, e, p)
			in.rejects[line] = wantReject{reason: fmt.Sprintf("record is larger than %d bytes", maxRecord), text: text[:maxRecord]}
			in.kinds["too large"]++
			b.WriteString(text + "\n")
			line++
			continue
		}
		switch k := rng.IntN(60); {
		case k == 0:
			reject("too few fields", row(id, f, l, e), "has 4 fields, header has 5")
		case k == 1:
			reject("too many fields", row(id, f, l, e, p, "extra"), "has 6 fields, header has 5")
		case k == 2:
			reject("bad id", row("x"+id, f, l, e, p), fmt.Sprintf(`id "x%s" is not a positive integer`, id))
		case k == 3:
			reject("bad id", row("-"+id, f, l, e, p), fmt.Sprintf(`id "-%s" is not a positive integer`, id))
		case k == 4:
			reject("bad id", row(id+".5", f, l, e, p), fmt.Sprintf(`id "%s.5" is not a positive integer`, id))
		case k == 5:
			reject("bad id", row("", f, l, e, p), `id "" is not a positive integer`)
		case k == 6:
			reject("bad id", row("0", f, l, e, p), `id "0" is not a positive integer`)
		case k == 7:
			reject("bad id", row("9"+strings.Repeat("9", 19), f, l, e, p), "out of range")
		case k == 8:
			reject("stray quote", row(id, `Jo"hn`, l, e, p), "bare quote in unquoted field 2")
		case k == 9:
			reject("stray quote", row(id, f, l, `"`+e+`"x`, p), "text after closing quote in field 4")
		case k == 10:
			// Good, over two lines.
			c.LastName += "\nthe second"
			in.good[c.ID] = c
			b.WriteString(row(id, f, csvField(c.LastName), e, p) + "\n")
			line += 2
		default:
			in.good[c.ID] = c
			b.WriteString(row(id, f, l, e, p) + "\n")
			line++
		}
	}
	in.data = []byte(b.String())
	return in
}

// Scenario 9: broken input. Every good record is stored and delivered;
// every bad one is in the rejects file with its line and why.
func TestBrokenInput(t *testing.T) {
	const n = 20000
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	in := makeBrokenInput(n, 9)
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.csv")
	require.NoError(t, os.WriteFile(path, in.data, 0o644))
	rejectsPath := filepath.Join(dir, "rejects.csv")
	crm := newCRM(t, faults{Jitter: 2 * time.Millisecond}, 9)

	start := time.Now()
	p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
	res := runParser(t, dsn, path, "CHUNK_SIZE=2000", "REJECTS="+rejectsPath, fmt.Sprintf("MAX_RECORD_BYTES=%d", maxRecord))
	parsed(t, res, n, len(in.good), 0, len(in.rejects))
	waitAllSent(t, db, len(in.good))
	took := time.Since(start)
	stopIntegrator(t, p)

	// The rejects file: each bad record once, with its line, reason and
	// text.
	f, err := os.Open(rejectsPath)
	require.NoError(t, err)
	defer f.Close()
	r := stdcsv.NewReader(f)
	r.FieldsPerRecord = 3
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"line", "reason", "record"}, recs[0])
	seen := map[int64]bool{}
	for _, rec := range recs[1:] {
		line, err := strconv.ParseInt(rec[0], 10, 64)
		require.NoError(t, err, "line of %q", rec)
		want, ok := in.rejects[line]
		require.True(t, ok, "line %d rejected (%s) but it is good: %q", line, rec[1], rec[2])
		require.False(t, seen[line], "line %d rejected twice", line)
		seen[line] = true
		require.Contains(t, rec[1], want.reason, "reason of line %d", line)
		// The text as read, its formula-like values defused.
		if want.prefix {
			require.True(t, strings.HasPrefix(rec[2], csv.Defuse(want.text)), "text of line %d: %q", line, rec[2])
		} else {
			require.Equal(t, csv.Defuse(want.text), rec[2], "text of line %d", line)
		}
	}
	require.Len(t, seen, len(in.rejects), "bad records rejected")

	st := crm.check(t, in.good)
	checkStored(t, db, in.good, true)
	require.Zero(t, st.Duplicates)
	kinds := make([]string, 0, len(in.kinds))
	for _, k := range []string{"too few fields", "too many fields", "bad id", "stray quote", "too large", "unclosed quote"} {
		require.Positive(t, in.kinds[k], k)
		kinds = append(kinds, fmt.Sprintf("%s=%d", strings.ReplaceAll(k, " ", "_"), in.kinds[k]))
	}
	figures(t, "9 (broken input)", n, took, st, fmt.Sprintf("good=%d rejected=%d (%s)", len(in.good), len(in.rejects), strings.Join(kinds, " ")))
}
