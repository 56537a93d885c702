package csv

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readFatal reads r until an error and checks it is not io.EOF.
func readFatal(t *testing.T, r *Reader) error {
	t.Helper()
	for {
		_, _, err := r.Next()
		if err != nil {
			require.NotEqual(t, io.EOF, err)
			return err
		}
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r, err := NewReader(&failingReader{data: []byte(header + "1,a,b,c,d\n2,a,b"), err: boom}, Options{})
	require.NoError(t, err)
	c, rj, err := r.Next()
	require.NoError(t, err)
	assert.Nil(t, rj)
	assert.Equal(t, int64(1), c.ID)
	_, _, err = r.Next()
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "read input at line 3: boom", err.Error())

	_, err = NewReader(&failingReader{err: boom}, Options{})
	assert.ErrorIs(t, err, boom)
}

// patternReader yields head, then body repeated until n bytes in all.
type patternReader struct {
	head []byte
	body []byte
	n    int64
	off  int
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	total := 0
	for len(b) > 0 {
		var n int
		if len(p.head) > 0 {
			n = copy(b, p.head)
			p.head = p.head[n:]
		} else {
			n = copy(b, p.body[p.off:])
			p.off = (p.off + n) % len(p.body)
		}
		b = b[n:]
		total += n
	}
	p.n -= int64(total)
	return total, nil
}

func TestReaderOversizedBoundedMemory(t *testing.T) {
	const size = 50 << 20
	tests := []struct {
		name   string
		head   string
		body   string
		reason string
	}{
		{
			name:   "quote never closes",
			head:   header + "1,a,b,c,d\n2,\"",
			body:   "abcdefghijklmnopqrstuvwxyz,0123456789\"\"\n",
			reason: "record is larger than 1024 bytes (quote opened on line 3 never closes)",
		},
		{
			name:   "one endless line",
			head:   header + "1,a,b,c,d\n2,",
			body:   "abcdefghijklmnopqrstuvwxyz,0123456789",
			reason: "record is larger than 1024 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &patternReader{head: []byte(tt.head), body: []byte(tt.body), n: size}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := NewReader(src, Options{MaxRecordBytes: 1024, Size: size})
			require.NoError(t, err)
			items := readAll(t, r)
			runtime.ReadMemStats(&after)
			require.Len(t, items, 2)
			assert.Equal(t, cust(1, "a", "b", "c", "d"), items[0])
			require.NotNil(t, items[1].R)
			assert.Equal(t, int64(3), items[1].R.Line)
			assert.Equal(t, tt.reason, items[1].R.Reason)
			assert.Len(t, items[1].R.Text, 1024)
			assert.True(t, strings.HasPrefix(items[1].R.Text, tt.head[len(header)+10:]))
			done, _ := r.Progress()
			assert.Equal(t, int64(size), done)
			// Everything allocated while reading 50 MB: the buffers and
			// the two results, nothing in proportion to the input.
			alloc := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, alloc, uint64(1<<20), "allocated %d bytes", alloc)
		})
	}
}

func TestReaderAllocs(t *testing.T) {
	in := []byte(header + strings.Repeat("12345,Hadleigh,Mahedy,hmahedy0@diigo.com,840 586 9744\n", 1000))
	var r *Reader
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		r, err = NewReader(bytes.NewReader(in), Options{})
		require.NoError(t, err)
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
	// One string per customer, plus the reader itself.
	assert.Less(t, allocs, 1000.0+50)
}
