package e2e_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/pgtest"
	"goquiz/internal/testbin"
)

// writeCustomers writes customers, in the order given, to a CSV file in
// dir and returns its path.
func writeCustomers(t *testing.T, dir, name string, cs []common.Customer) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	require.NoError(t, w.Write([]string{"id", "first_name", "last_name", "email", "phone"}))
	for _, c := range cs {
		require.NoError(t, w.Write([]string{strconv.FormatInt(c.ID, 10), c.FirstName, c.LastName, c.Email, c.Phone}))
	}
	w.Flush()
	require.NoError(t, w.Error())
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// sortedCustomers returns the customers of m by id.
func sortedCustomers(m map[int64]common.Customer) []common.Customer {
	out := make([]common.Customer, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var versionKeyRE = regexp.MustCompile(`^goquiz-customer-(\d+)(?:-v(\d+))?$`)

// keyVersion returns the version of a goquiz Idempotency-Key of id.
func keyVersion(t *testing.T, id int64, key string) int {
	t.Helper()
	m := versionKeyRE.FindStringSubmatch(key)
	require.NotNil(t, m, "key %q", key)
	require.Equal(t, strconv.FormatInt(id, 10), m[1], "key %q of customer %d", key, id)
	if m[2] == "" {
		return 1
	}
	v, err := strconv.Atoi(m[2])
	require.NoError(t, err)
	return v
}

// checkVersions asserts that the CRM holds the newest values of every
// customer of want, that every version it accepted of a customer was
// accepted in order (never an older one after a newer), that the last
// accepted is the version of want, that each attempt carried the key of
// its version (a repeat only after a crash, with the same key), and that
// the customers of unchanged were never sent after day 1. It returns the
// number of acceptances of each version beyond the first, summed.
func checkVersions(t *testing.T, crm *crmDouble, want map[int64]common.Customer, versions map[int64]int, unchanged map[int64]bool, day2From time.Time) (repeats int) {
	t.Helper()
	crm.mu.Lock()
	defer crm.mu.Unlock()
	require.Empty(t, crm.bad, "malformed requests")
	var wrong, missing []int64
	for id := range want {
		keys := crm.accepted[id]
		if len(keys) == 0 {
			missing = append(missing, id)
			continue
		}
		last := 0
		for _, k := range keys {
			v := keyVersion(t, id, k)
			require.GreaterOrEqual(t, v, last, "customer %d: version %d accepted after version %d (keys %v)", id, v, last, keys)
			if v == last {
				repeats++
			}
			last = v
		}
		if last != versions[id] {
			wrong = append(wrong, id)
		}
		if unchanged[id] {
			for _, a := range crm.attempts[id] {
				require.True(t, a.at.Before(day2From), "unchanged customer %d sent again on day 2", id)
			}
		}
	}
	require.Empty(t, sample(missing), "customers never accepted")
	require.Empty(t, sample(wrong), "customers whose last accepted version is not their newest")
	return repeats
}

// lastBodies returns the values of the last request the CRM accepted for
// each customer.
func (d *crmDouble) lastBodies() map[int64]common.Customer {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int64]common.Customer, len(d.lastBody))
	for id, c := range d.lastBody {
		out[id] = c
	}
	return out
}

// Scenario 17: daily exports. Day 1 is loaded and delivered. Day 2 brings
// changed customers, new ones and unchanged ones, then a second file of
// the same day changes some of them again, both loaded in
// SYNC_MODE=upsert before the integrators caught up. The dry run of day 2
// counts what its load then does. Every customer reaches the CRM with its
// newest values, each version's key accepted once (a repeat only after a
// SIGKILL), never an older version after a newer one, and the unchanged
// customers are not sent again.
func TestDailyExports(t *testing.T) {
	const n = 6000
	tests := []struct {
		name        string
		integrators int
		kill        bool
	}{
		{"one integrator", 1, false},
		{"integrator SIGKILLed mid-delivery", 1, true},
		{"two integrators", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			db := openDB(t, dsn)
			dir := t.TempDir()
			day1 := generated(n, 15)
			crm := newCRM(t, faults{Jitter: time.Millisecond}, 15)
			env := integratorEnv(dsn, crm.URL(), "LEASE=2s")

			p := startIntegrator(t, env)
			parsed(t, runParser(t, dsn, writeCustomers(t, dir, "day1.csv", sortedCustomers(day1))), n, n, 0, 0)
			waitAllSent(t, db, n)
			stopIntegrator(t, p)

			// Day 2: every 10th customer changed, every 7th of those
			// changed again by a second file; 500 new ones; the rest as
			// they were.
			want, versions, unchanged := map[int64]common.Customer{}, map[int64]int{}, map[int64]bool{}
			var fileA, fileB []common.Customer
			for id := int64(1); id <= n+500; id++ {
				c, ok := day1[id]
				switch {
				case !ok:
					c = common.Customer{ID: id, FirstName: "New", LastName: "Customer", Email: fmt.Sprintf("new%d@example.com", id), Phone: "1"}
					versions[id] = 1
				case id%10 == 0:
					c.Email = fmt.Sprintf("day2-%d@example.com", id)
					versions[id] = 2
				default:
					versions[id], unchanged[id] = 1, true
				}
				fileA = append(fileA, c)
				want[id] = c
				if id%70 == 0 {
					c.Phone = "day 2, second file"
					fileB = append(fileB, c)
					want[id] = c
					versions[id]++
				}
			}
			changedA, changedB := n/10, len(fileB)
			pathA := writeCustomers(t, dir, "day2a.csv", fileA)
			pathB := writeCustomers(t, dir, "day2b.csv", append(fileB, day1[1], day1[2])) // 1 and 2 as they were
			res := testbin.Run(t, parserBin(t), []string{"DSN=" + dsn, "SYNC_MODE=upsert"}, nil, "--dry-run", pathA)
			require.Equal(t, 0, res.Code, res.Stderr)
			wantA := fmt.Sprintf("%d new, %d changed, %d unchanged, 0 duplicates, 0 rejected", 500, changedA, n-changedA)
			require.Contains(t, res.Stdout, wantA, "dry run")

			day2 := time.Now()
			resA := runParser(t, dsn, pathA, "SYNC_MODE=upsert", "CHUNK_SIZE=1000")
			require.Equal(t, 0, resA.Code, resA.Stderr)
			require.Contains(t, resA.Stdout, fmt.Sprintf("read %d rows: %d stored (%d new, %d changed), %d unchanged, 0 duplicates, 0 rejected",
				n+500, 500+changedA, 500, changedA, n-changedA), "the load does what the dry run said")
			resB := runParser(t, dsn, pathB, "SYNC_MODE=upsert")
			require.Equal(t, 0, resB.Code, resB.Stderr)
			require.Contains(t, resB.Stdout, fmt.Sprintf("read %d rows: %d stored (0 new, %d changed), 2 unchanged", changedB+2, changedB, changedB))
			require.Equal(t, changedA+500, count(db, `SELECT count(*) FROM customers WHERE state = 'pending'`))

			start := time.Now()
			var ps []*testbin.Process
			for range tt.integrators {
				ps = append(ps, startIntegrator(t, env))
			}
			if tt.kill {
				waitFor(t, deliveryTimeout, 5*time.Millisecond, "a third of day 2 accepted", func() bool {
					return crm.acceptedSince(day2) >= (changedA+500)/3
				})
				ps[0].Kill()
				ps[0] = startIntegrator(t, env)
			}
			waitFor(t, deliveryTimeout, 100*time.Millisecond, "every customer sent", func() bool {
				return sentCount(db) == n+500
			})
			took := time.Since(start)
			for _, p := range ps {
				stopIntegrator(t, p)
			}
			repeats := checkVersions(t, crm, want, versions, unchanged, day2)
			if !tt.kill {
				assert.Zero(t, repeats, "no version accepted twice without a crash")
			}
			bodies := crm.lastBodies()
			for id, c := range want {
				require.Equal(t, c, bodies[id], "customer %d: the CRM's last values", id)
			}
			checkStored(t, db, want, true)
			st := crm.statsSince(day2)
			t.Logf("requests on day 2: %d (%d versions to send, %d repeats)", st, changedA+500, repeats)
			line := fmt.Sprintf("scenario 17 (daily exports, %s): records=%d day2=%d new, %d changed, %d changed twice, %d unchanged time=%.1fs day2_requests=%d repeats=%d (all with their version's key)",
				tt.name, n+500, 500, changedA, changedB, n-changedA, took.Seconds(), st, repeats)
			t.Log(line)
			fmt.Println(line)
		})
	}
}

// acceptedSince counts the requests answered 200 that arrived after t.
func (d *crmDouble) acceptedSince(t time.Time) int {
	return d.countAttempts(func(a attempt) bool { return a.status == http.StatusOK && !a.at.Before(t) })
}

// statsSince counts the requests that arrived after t.
func (d *crmDouble) statsSince(t time.Time) int {
	return d.countAttempts(func(a attempt) bool { return !a.at.Before(t) })
}

// Scenario 18: a customer changed while its previous version hangs in
// flight at the CRM. The new version is not sent until the old one is
// answered and recorded; then it is, once, with its own key.
func TestChangeWhileInFlight(t *testing.T) {
	const n = 200
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	dir := t.TempDir()
	day1 := generated(n, 16)
	release := make(chan struct{})
	crm := newCRM(t, faults{HoldKey: common.IdempotencyKey(7), Release: release}, 16)
	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), "REQUEST_TIMEOUT=30s"))
	parsed(t, runParser(t, dsn, writeCustomers(t, dir, "day1.csv", sortedCustomers(day1))), n, n, 0, 0)
	waitFor(t, deliveryTimeout, 10*time.Millisecond, "the others sent, 7 in flight", func() bool {
		return sentCount(db) == n-1 && crm.requestCount() >= n
	})

	changed := day1[7]
	changed.Email = "changed-while-in-flight@example.com"
	res := runParser(t, dsn, writeCustomers(t, dir, "day2.csv", []common.Customer{changed, day1[8]}), "SYNC_MODE=upsert")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, "2 rows: 1 stored (0 new, 1 changed), 1 unchanged")
	time.Sleep(time.Second)
	crm.mu.Lock()
	attempts := len(crm.attempts[7])
	crm.mu.Unlock()
	require.Equal(t, 1, attempts, "version 2 is not sent while version 1 is in flight")

	released := time.Now()
	close(release)
	waitAllSent(t, db, n)
	stopIntegrator(t, p)

	crm.mu.Lock()
	defer crm.mu.Unlock()
	as := crm.attempts[7]
	require.Len(t, as, 2)
	assert.Equal(t, common.IdempotencyKey(7), as[0].key)
	assert.Equal(t, common.VersionKey(7, 2), as[1].key)
	assert.Equal(t, []string{common.IdempotencyKey(7), common.VersionKey(7, 2)}, crm.accepted[7])
	assert.True(t, as[1].at.After(as[0].answered), "version 2 sent after version 1 was answered")
	assert.Equal(t, changed, crm.lastBody[7])
	line := fmt.Sprintf("scenario 18 (changed while in flight): version 1 held %s at the CRM; version 2 sent %dms after its answer",
		released.Sub(as[0].at).Round(100*time.Millisecond), as[1].at.Sub(as[0].answered).Milliseconds())
	t.Log(line)
	fmt.Println(line)
}

// Scenario 19: a load of a daily export in SYNC_MODE=upsert killed with
// SIGKILL mid-file, while the integrator delivers, then run again: every
// change is stored once (the rerun finds the ones stored unchanged), and
// each version is sent once.
func TestUpsertRerunAfterKill(t *testing.T) {
	const n, chunk = 6000, 1000
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	dir := t.TempDir()
	day1 := generated(n, 19)
	crm := newCRM(t, faults{Jitter: time.Millisecond}, 19)
	p := startIntegrator(t, integratorEnv(dsn, crm.URL()))
	parsed(t, runParser(t, dsn, writeCustomers(t, dir, "day1.csv", sortedCustomers(day1))), n, n, 0, 0)
	waitAllSent(t, db, n)

	want, versions, unchanged := map[int64]common.Customer{}, map[int64]int{}, map[int64]bool{}
	var day2 []common.Customer
	for _, c := range sortedCustomers(day1) {
		versions[c.ID], unchanged[c.ID] = 1, true
		if c.ID%5 == 0 {
			c.Phone = "day 2"
			versions[c.ID], unchanged[c.ID] = 2, false
		}
		day2 = append(day2, c)
		want[c.ID] = c
	}
	path := writeCustomers(t, dir, "day2.csv", day2)
	input, err := os.ReadFile(path)
	require.NoError(t, err)
	env := []string{"DSN=" + dsn, "SYNC_MODE=upsert", fmt.Sprintf("CHUNK_SIZE=%d", chunk)}

	start := time.Now()
	first := pipeInput(t, parserBin(t), env)
	first.write(t, input[:rowsEnd(input, 3*chunk+chunk/2)])
	waitFor(t, time.Minute, 10*time.Millisecond, "three chunks' changes stored", func() bool {
		return count(db, `SELECT count(*) FROM customers WHERE version = 2`) == 3*chunk/5
	})
	first.p.Kill()
	res := runParser(t, dsn, path, env[1:]...)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("read %d rows: %d stored (0 new, %d changed), %d unchanged, 0 duplicates, 0 rejected",
		n, n/5-3*chunk/5, n/5-3*chunk/5, n-n/5+3*chunk/5), "the rerun finds the changes stored unchanged")
	waitFor(t, deliveryTimeout, 100*time.Millisecond, "every customer sent", func() bool {
		return count(db, `SELECT count(*) FROM customers WHERE state = 'sent'`) == n
	})
	took := time.Since(start)
	stopIntegrator(t, p)
	repeats := checkVersions(t, crm, want, versions, unchanged, start)
	require.Zero(t, repeats, "each version sent once")
	assert.Equal(t, n/5, count(db, `SELECT count(*) FROM customers WHERE version = 2`), "each change stored once")
	assert.Zero(t, count(db, `SELECT count(*) FROM customers WHERE version > 2`))
	line := fmt.Sprintf("scenario 19 (upsert load SIGKILLed mid-file, run again): records=%d changed=%d stored_by_run=%d,%d time=%.1fs day2_requests=%d repeats=0",
		n, n/5, 3*chunk/5, n/5-3*chunk/5, took.Seconds(), crm.statsSince(start))
	t.Log(line)
	fmt.Println(line)
}

// A changed customer whose new version the CRM refuses ends as a first
// version would: rejected at the first refusal of a status in GIVE_UP_ON,
// failed after MAX_ATTEMPTS, each attempt with the new version's key. A
// refusal of version 2 was recorded for version 1, which the record no
// longer was: the outcome was dropped, the claim ended, and version 2 was
// sent again at once, for ever (94 requests in 2 s, never rejected).
func TestChangedCustomerRefusedForGood(t *testing.T) {
	const n = 20
	tests := []struct {
		name      string
		status    int
		env       string
		wantState common.State
		wantTries int
	}{
		{"GIVE_UP_ON", http.StatusUnprocessableEntity, "GIVE_UP_ON=422", common.StateRejected, 1},
		{"MAX_ATTEMPTS", http.StatusInternalServerError, "MAX_ATTEMPTS=2", common.StateFailed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			db := openDB(t, dsn)
			dir := t.TempDir()
			day1 := generated(n, 22)
			key := common.VersionKey(7, 2)
			crm := newCRM(t, faults{RefuseKey: key, RefuseStatus: tt.status}, 22)
			p := startIntegrator(t, integratorEnv(dsn, crm.URL(), tt.env))
			parsed(t, runParser(t, dsn, writeCustomers(t, dir, "day1.csv", sortedCustomers(day1))), n, n, 0, 0)
			waitAllSent(t, db, n)

			changed := day1[7]
			changed.Email = "refused@example.com"
			res := runParser(t, dsn, writeCustomers(t, dir, "day2.csv", []common.Customer{changed}), "SYNC_MODE=upsert")
			require.Equal(t, 0, res.Code, res.Stderr)
			require.Contains(t, res.Stdout, "read 1 rows: 1 stored (0 new, 1 changed)")
			waitFor(t, 20*time.Second, 10*time.Millisecond, "version 2 "+string(tt.wantState), func() bool {
				return count(db, `SELECT count(*) FROM customers WHERE id = 7 AND version = 2 AND state = $1`, string(tt.wantState)) == 1
			})
			time.Sleep(500 * time.Millisecond) // room for requests that should not come
			stopIntegrator(t, p)

			crm.mu.Lock()
			defer crm.mu.Unlock()
			var tries int
			for _, a := range crm.attempts[7] {
				if a.key == key {
					tries++
				}
			}
			assert.Equal(t, tt.wantTries, tries, "attempts of version 2")
			assert.Equal(t, []string{common.IdempotencyKey(7)}, crm.accepted[7], "only version 1 accepted")
		})
	}
}

// Scenario 18b: versions replaced while they wait to be sent. One worker
// is held by version 1 of customer 1 at the CRM while the integrator
// holds the next customers claimed, waiting for it; a load then changes
// every customer. Only the newest version of each goes: the versions 1
// that waited are given back unsent, and version 1 of customer 1, in
// flight, is finished first. The integrator sent the versions 1 it held
// claimed after they had been replaced (18 of 20 against a CRM taking 2 s
// an answer, with 2 workers).
func TestReplacedBeforeSentIsNeverSent(t *testing.T) {
	const n = 20
	dsn := pgtest.DSN(t)
	db := openDB(t, dsn)
	dir := t.TempDir()
	day1 := generated(n, 23)
	release := make(chan struct{})
	crm := newCRM(t, faults{HoldKey: common.IdempotencyKey(1), Release: release}, 23)
	// POLL_INTERVAL: the integrator also looks for newer versions every
	// 200 ms, should the load's notification come late on a busy machine.
	p := startIntegrator(t, integratorEnv(dsn, crm.URL(), "WORKERS=1", "REQUEST_TIMEOUT=30s", "POLL_INTERVAL=200ms"))
	parsed(t, runParser(t, dsn, writeCustomers(t, dir, "day1.csv", sortedCustomers(day1))), n, n, 0, 0)
	waitFor(t, deliveryTimeout, 10*time.Millisecond, "customer 1 in flight, others claimed", func() bool {
		return crm.requestCount() >= 1 && count(db, `SELECT count(*) FROM claims WHERE cardinality(ids) > 0`) >= 1 &&
			count(db, `SELECT count(*) FROM (SELECT unnest(ids) FROM claims) c`) >= 2
	})

	want := map[int64]common.Customer{}
	var day2 []common.Customer
	for _, c := range sortedCustomers(day1) {
		c.Email = fmt.Sprintf("day2-%d@example.com", c.ID)
		day2 = append(day2, c)
		want[c.ID] = c
	}
	res := runParser(t, dsn, writeCustomers(t, dir, "day2.csv", day2), "SYNC_MODE=upsert")
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("read %d rows: %d stored (0 new, %d changed)", n, n, n))
	time.Sleep(time.Second) // the load's notification reaches the integrator
	close(release)
	waitAllSent(t, db, n)
	stopIntegrator(t, p)

	crm.mu.Lock()
	defer crm.mu.Unlock()
	assert.Equal(t, []string{common.IdempotencyKey(1), common.VersionKey(1, 2)}, crm.accepted[1], "customer 1: version 1, in flight, finished first")
	var replacedSent []string
	for id := int64(2); id <= n; id++ {
		for _, a := range crm.attempts[id] {
			if a.key != common.VersionKey(id, 2) {
				replacedSent = append(replacedSent, a.key)
			}
		}
		assert.Equal(t, want[id], crm.lastBody[id], "customer %d: the CRM's last values", id)
	}
	assert.Empty(t, replacedSent, "versions sent after they were replaced")
}
