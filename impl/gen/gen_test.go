package gen

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
	"goquiz/impl/csv"
)

func TestCustomers(t *testing.T) {
	const n = 5000
	cs := slices.Collect(Customers(n, 42))
	require.Len(t, cs, n)
	email := regexp.MustCompile(`^[a-z]+[._]?[a-z]*[0-9]*@[a-z0-9.-]+\.[a-z]+$`)
	phone := regexp.MustCompile(`^[2-9][0-9]{2} [2-9][0-9]{2} [0-9]{4}$`)
	quoted := 0
	for i, c := range cs {
		require.Equal(t, int64(i+1), c.ID, "ids are 1..n in order")
		assert.NotEmpty(t, c.FirstName)
		assert.NotEmpty(t, c.LastName)
		assert.Regexp(t, email, c.Email)
		assert.Regexp(t, phone, c.Phone)
		if strings.ContainsAny(c.FirstName+c.LastName, `,"`) {
			quoted++
		}
	}
	assert.Positive(t, quoted, "some names need CSV quoting")

	assert.Empty(t, slices.Collect(Customers(0, 42)))
	assert.Empty(t, slices.Collect(Customers(-3, 42)))
}

func TestCustomersDeterministic(t *testing.T) {
	a := slices.Collect(Customers(1000, 7))
	b := slices.Collect(Customers(1000, 7))
	assert.Equal(t, a, b)
	c := slices.Collect(Customers(1000, 8))
	assert.NotEqual(t, a, c)
	// A prefix is the same customers.
	assert.Equal(t, a[:10], slices.Collect(Customers(10, 7)))
}

func TestCustomersStop(t *testing.T) {
	n := 0
	for c := range Customers(100, 1) {
		n++
		if c.ID == 3 {
			break
		}
	}
	assert.Equal(t, 3, n)
}

func TestWriteCSVRoundTrip(t *testing.T) {
	const n = 20000
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, n, 99))
	assert.True(t, strings.HasPrefix(buf.String(), Header+"\n"))
	assert.Contains(t, buf.String(), `""`, "quotes are doubled")

	r, err := csv.NewReader(&buf, csv.Options{})
	require.NoError(t, err)
	var got []common.Customer
	for {
		c, rej, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Nil(t, rej)
		got = append(got, c)
	}
	assert.Equal(t, slices.Collect(Customers(n, 99)), got)
}

func TestWriteCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, 0, 1))
	assert.Equal(t, Header+"\n", buf.String())
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteCSVError(t *testing.T) {
	assert.EqualError(t, WriteCSV(&failWriter{n: 100 << 10}, 100000, 1), "disk full")
	assert.EqualError(t, WriteCSV(&failWriter{n: 10}, 10, 1), "disk full")
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"O'Brien":      "obrien",
		"Davis, Jr.":   "davisjr",
		`Robert "Bob"`: "robertbob",
		"Müller":       "muller",
		"Małgorzata":   "malgorzata",
		"de la Cruz":   "delacruz",
		"漢字":           "user",
	} {
		assert.Equal(t, want, slug(in), in)
	}
}

func BenchmarkWriteCSV(b *testing.B) {
	const n = 1000000
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteCSV(io.Discard, n, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
