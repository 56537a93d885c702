package csv

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

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

	t.Run("truncated", func(t *testing.T) {
		r, err := NewReader(bytes.NewReader(z[:len(z)-100]), Options{})
		require.NoError(t, err)
		err = readFatal(t, r)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		_, _, err2 := r.Next()
		assert.Equal(t, err, err2, "fatal errors are sticky")
	})
	t.Run("corrupt", func(t *testing.T) {
		bad := bytes.Clone(z)
		for i := len(bad) / 2; i < len(bad)/2+64; i++ {
			bad[i] ^= 0x5a
		}
		r, err := NewReader(bytes.NewReader(bad), Options{})
		require.NoError(t, err)
		assert.Error(t, readFatal(t, r))
	})
	t.Run("bad header", func(t *testing.T) {
		_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 1, 2}), Options{})
		assert.ErrorContains(t, err, "gzip input:")
	})
}
