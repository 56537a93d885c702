package csv

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReaderProgress(t *testing.T) {
	in := header + "1,a,b,c,d\n" + strings.Repeat("2,a,b,c,d\n", 30000)
	r, err := NewReader(strings.NewReader(in), Options{Size: -1})
	require.NoError(t, err)
	done, total := r.Progress()
	assert.Equal(t, int64(-1), total)
	assert.Equal(t, int64(len(header)), done)
	_, _, err = r.Next()
	require.NoError(t, err)
	done, _ = r.Progress()
	assert.Equal(t, int64(len(header)+10), done)
	last := done
	for {
		_, _, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		done, _ := r.Progress()
		require.Greater(t, done, last)
		last = done
	}
	done, _ = r.Progress()
	assert.Equal(t, int64(len(in)), done)
}

func TestReaderRealFile(t *testing.T) {
	const path = "../../../shared/data/customers-1000.csv"
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("sample file %s is absent", path)
	}
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	r, err := NewReader(f, Options{Size: st.Size()})
	require.NoError(t, err)
	items := readAll(t, r)
	var customers, rejects int
	for _, it := range items {
		if it.R != nil {
			rejects++
			t.Errorf("unexpected reject: %+v", *it.R)
		} else {
			customers++
		}
	}
	assert.Equal(t, 1000, customers)
	assert.Equal(t, 0, rejects)
	require.NotEmpty(t, items)
	assert.Equal(t, cust(1, "Hadleigh", "Mahedy", "hmahedy0@diigo.com", "840 586 9744"), items[0])
	done, total := r.Progress()
	assert.Equal(t, st.Size(), done)
	assert.Equal(t, st.Size(), total)
}
