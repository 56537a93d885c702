package csv

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestReaderGzip(t *testing.T) {
	var in strings.Builder
	in.WriteString("\xef\xbb\xbf" + header)
	for i := 1; i <= 20000; i++ {
		in.WriteString("1,a,b,c,d\n")
	}
	in.WriteString("x,a,b,c,d\n")
	z := gz(t, in.String())
	r, err := NewReader(bytes.NewReader(z), Options{Size: int64(len(z))})
	require.NoError(t, err)
	done, total := r.Progress()
	assert.Equal(t, int64(len(z)), total)
	assert.LessOrEqual(t, done, int64(len(z)))
	items := readAll(t, r)
	require.Len(t, items, 20001)
	assert.Equal(t, cust(1, "a", "b", "c", "d"), items[0])
	assert.Equal(t, rej(20002, `id "x" is not a positive integer`, "x,a,b,c,d"), items[20000])
	done, total = r.Progress()
	assert.Equal(t, int64(len(z)), done)
	assert.Equal(t, int64(len(z)), total)
}

func TestReaderGzipCorrupt(t *testing.T) {
	var in strings.Builder
	in.WriteString(header)
	for i := 1; i <= 100000; i++ {
		in.WriteString("1,abcdefgh,ijklmnop,qrstuvwxyz,0123456789\n")
	}
	z := gz(t, in.String())
	corrupt := bytes.Clone(z)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5a
	}
	badSum := bytes.Clone(z)
	badSum[len(badSum)-5] ^= 1 // the CRC-32 of the trailer

	tests := []struct {
		name    string
		in      []byte
		atStart bool // NewReader fails
		is      error
		message string
	}{
		{"magic only", z[:2], true, io.ErrUnexpectedEOF, "broken gzip input: it ends early, the file is truncated (unexpected EOF)"},
		{"header cut short", z[:5], true, io.ErrUnexpectedEOF, "broken gzip input: it ends early, the file is truncated"},
		{"bad header", []byte{0x1f, 0x8b, 1, 2, 0, 0, 0, 0, 0, 0}, true, gzip.ErrHeader, "broken gzip input: its header is corrupt (gzip: invalid header)"},
		{"truncated mid-stream", z[:len(z)-100], false, io.ErrUnexpectedEOF, "read input at line 9"},
		{"trailer cut off", z[:len(z)-4], false, io.ErrUnexpectedEOF, "broken gzip input: it ends early, the file is truncated"},
		{"corrupt mid-stream", corrupt, false, nil, "broken gzip input: "},
		{"bad checksum", badSum, false, gzip.ErrChecksum, "broken gzip input: what it holds does not match its checksum, the file is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.in), Options{})
			if !tt.atStart {
				require.NoError(t, err)
				err = readFatal(t, r)
				_, _, err2 := r.Next()
				assert.Equal(t, err, err2, "fatal errors are sticky")
			}
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.ErrorContains(t, err, tt.message)
			assert.ErrorContains(t, err, "broken gzip input")
		})
	}
}

// An error of reading the input itself is not taken for a broken gzip
// stream.
func TestReaderGzipReadError(t *testing.T) {
	z := gz(t, header+strings.Repeat("1,a,b,c,d\n", 100000))
	failing := io.MultiReader(bytes.NewReader(z[:len(z)/2]), iotest.ErrReader(errors.New("input/output error")))
	r, err := NewReader(failing, Options{})
	require.NoError(t, err)
	err = readFatal(t, r)
	assert.ErrorContains(t, err, "input/output error")
	assert.NotContains(t, err.Error(), "gzip")
}
