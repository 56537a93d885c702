package e2e_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"goquiz/common"
	"goquiz/impl/gen"
	"goquiz/impl/mockcrm"
	"goquiz/impl/pgtest"
)

// exportColumns maps the fields to the column names of writeExport's
// files.
const exportColumns = "id=Kundennummer,first_name=Vorname,last_name=Nachname,email=E-Mail-Adresse,phone=Telefonnummer"

// Accented names of Windows-1252, given to the customers whose generated
// names it cannot write, and to every tenth.
var (
	exportFirsts = []string{"François", "Zoë", "Œdipe", "Jörg", "Ångström", "Æsa; Bø"}
	exportLasts  = []string{"Groß", "Müller-Lüdenscheidt", "Cœur €", "O\"Brien", "Š. Žák"}
)

// exportField returns s as a field of a semicolon CSV, quoted when needed.
func exportField(s string) string {
	if !strings.ContainsAny(s, ";\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// writeExport writes n generated customers as Excel exports them in
// Germany, gzip-compressed: Windows-1252, semicolons, CRLF, its own column
// names and an extra column. It returns the file's path and the customers
// as they must arrive, in UTF-8.
func writeExport(t *testing.T, n int, seed int64) (string, map[int64]common.Customer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Kunden.csv.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	w := bufio.NewWriter(charmap.Windows1252.NewEncoder().Writer(zw))
	_, err = w.WriteString("Kundennummer;Vorname;Nachname;E-Mail-Adresse;Telefonnummer;Umsatz in €\r\n")
	require.NoError(t, err)
	want := make(map[int64]common.Customer, n)
	for c := range gen.Customers(int64(n), seed) {
		if c.ID%10 == 0 || !inWindows1252(c.FirstName) {
			c.FirstName = exportFirsts[c.ID%int64(len(exportFirsts))]
		}
		if c.ID%10 == 5 || !inWindows1252(c.LastName) {
			c.LastName = exportLasts[c.ID%int64(len(exportLasts))]
		}
		want[c.ID] = c
		_, err := fmt.Fprintf(w, "%d;%s;%s;%s;%s;%d,%02d\r\n", c.ID, exportField(c.FirstName), exportField(c.LastName),
			exportField(c.Email), exportField(c.Phone), c.ID%1000, c.ID%100)
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return path, want
}

func inWindows1252(s string) bool {
	_, err := charmap.Windows1252.NewEncoder().String(s)
	return err == nil
}

// Scenario 15: a customer export from Excel, gzip-compressed Windows-1252
// with semicolons and its own column names, is loaded by the parser with
// ENCODING, DELIMITER and COLUMNS, and delivered by the integrator to the
// mock CRM (httpapi, behind the double that records every request): every
// customer arrives once, its accented names in UTF-8 as they were written.
func TestWindows1252Export(t *testing.T) {
	const n = 5000
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	path, want := writeExport(t, n, 13)
	api, _ := startHTTPAPI(t, "LOG_INTERVAL=1m")
	crm := newCRM(t, faults{Upstream: api + "/customers"}, 13)

	start := time.Now()
	res := runParser(t, dsn, path, "ENCODING=windows-1252", "DELIMITER=;", "COLUMNS="+exportColumns, "CHUNK_SIZE=1000")
	parsed(t, res, n, n, 0, 0)
	require.Contains(t, res.Stdout, `encoding windows-1252, delimiter ";", columns id="Kundennummer"`)
	p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
	took := deliverAll(t, db, want, p, start)

	st := checkOnce(t, crm, db, want)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stats, err := mockcrm.FetchStats(ctx, nil, api, "")
	require.NoError(t, err)
	require.Equal(t, int64(n), stats.Accepted, "the mock CRM's own count")
	accented := 0
	for _, c := range want {
		if strings.ContainsAny(c.FirstName+c.LastName, "çëŒöÅÆøßüœ€ŠŽá") {
			accented++
		}
	}
	figures(t, "15 (Windows-1252 export)", n, took, st, "accented="+strconv.Itoa(accented))
}
