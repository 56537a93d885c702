package postgres_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiagramNamesTheSchema fails when diagram.dot names a table, a
// column of customers, a function or a record state that the schema does
// not have: the picture must be redrawn when the schema changes.
func TestDiagramNamesTheSchema(t *testing.T) {
	b, err := os.ReadFile("../../diagram.dot")
	require.NoError(t, err)
	dot := string(b)
	db := open(t)

	tables := regexp.MustCompile(`table <b>(\w+)</b>`).FindAllStringSubmatch(dot, -1)
	require.NotEmpty(t, tables)
	for _, m := range tables {
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_class WHERE oid = to_regclass('`+m[1]+`')`), "table %s", m[1])
	}
	cols := regexp.MustCompile(`<b>customers</b>: (.+?)<br/>table`).FindStringSubmatch(dot)
	require.NotNil(t, cols, "the diagram lists the columns of customers")
	for _, c := range strings.Split(strings.ReplaceAll(cols[1], "<br/>", ","), ",") {
		if c = strings.TrimSpace(c); c == "five values" || c == "" {
			continue
		}
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = '`+c+`' AND NOT attisdropped`), "column %s", c)
	}
	for _, f := range regexp.MustCompile(`goquiz_\w+`).FindAllString(dot, -1) {
		if f == "goquiz_customers" { // the notification channel
			continue
		}
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM pg_proc WHERE proname = '`+f+`'`), "function %s", f)
	}
	var check string
	require.NoError(t, db.SQL().QueryRow(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'customers_state'`).Scan(&check))
	states := regexp.MustCompile(`'(\w+)'`).FindAllStringSubmatch(check, -1)
	require.NotEmpty(t, states)
	for _, s := range states {
		assert.Contains(t, dot, "<b>"+s[1]+"</b>", "the diagram shows the state %s", s[1])
	}
}
