package csv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// drive decodes in with d as transform.Reader would, but giving it at
// most window bytes of input and room bytes of output at a time, so that
// its input ends inside characters and its output runs short everywhere.
func drive(t *testing.T, d *decoder, in []byte, window, room int) []byte {
	t.Helper()
	d.Reset()
	var out []byte
	dst := make([]byte, room)
	for stalls := 0; ; {
		end := min(len(in), window)
		atEOF := end == len(in)
		nDst, nSrc, err := d.Transform(dst, in[:end], atEOF)
		out = append(out, dst[:nDst]...)
		in = in[nSrc:]
		switch {
		case err == nil && atEOF && len(in) == 0:
			return out
		case err == transform.ErrShortSrc:
			window++ // too little input for a character
		case err != nil && err != transform.ErrShortDst:
			t.Fatalf("decode: %v", err)
		}
		if nDst == 0 && nSrc == 0 {
			stalls++
			require.Less(t, stalls, 10, "no progress")
			if err == transform.ErrShortDst {
				dst = make([]byte, 2*len(dst))
			}
		} else {
			stalls = 0
		}
	}
}

func TestDecoderWindows(t *testing.T) {
	tests := []struct {
		encoding string
		in       string
		want     string
	}{
		{"windows-1252", "a\x80b\x81c\x9c\xdf", "a€b\xff81cœß"},
		{"windows-1253", "\xe1\xaa\xaa\xe2", "α\xffaa\xffaaβ"},
		{"shift_jis", "\x83\x7c|\x81,\x95\x5c\x81", "ポ|\xff81,表\xff81"},
		{"gb18030", "\x84\x31\xa4\x37a\x81\x30", "\uFFFDa\xff810"},
		{"utf-16le", "\xfd\xff\x00\xd8a\x00\x3d\xd8\x00\xde\x00", "\uFFFD\xff00\xffd8a😀\xff00"},
		{"iso-2022-jp", "a\x1b$BF|K\\\x1b(B|\x8e", "a日本|\xff8e"},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			enc, err := htmlindex.Get(tt.encoding)
			require.NoError(t, err)
			name, _ := htmlindex.Name(enc)
			d := newDecoder(enc, name)
			for window := 1; window <= len(tt.in)+1; window++ {
				for _, room := range []int{4, 5, 7, 64} {
					got := drive(t, d, []byte(tt.in), window, room)
					require.Equal(t, tt.want, string(got), "window %d, room %d", window, room)
				}
			}
		})
	}
}

// TestDecoderAgreesWithXText: valid text is passed on as x/text decodes
// it.
func TestDecoderAgreesWithXText(t *testing.T) {
	for _, name := range []string{"windows-1252", "shift_jis", "utf-16be", "euc-kr", "iso-2022-jp"} {
		enc, err := htmlindex.Get(name)
		require.NoError(t, err)
		text := strings.Repeat("Zoë;\"日本\"\n한;€;ß\n", 2000)
		var in []byte
		for _, r := range text {
			if b, err := enc.NewEncoder().String(string(r)); err == nil {
				in = append(in, b...)
			}
		}
		want, err := enc.NewDecoder().Bytes(in)
		require.NoError(t, err)
		got, _, err := transform.Bytes(newDecoder(enc, name), in)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), name)
	}
}

func TestAppendText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		decoded bool
		want    string
	}{
		{"valid", "a,é,€,😀", false, "a,é,€,😀"},
		{"invalid bytes", "a\xffb\xc3", false, `a\xffb\xc3`},
		{"a mark in UTF-8 input is a byte", "\xff81", false, `\xff81`},
		{"decoder marks", "a\xff81\xffd8b", true, `a\x81\xd8b`},
		{"a cut mark", "a\xff8", true, `a\xff8`},
		{"U+FFFD stays", "\uFFFD", true, "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendText(nil, []byte(tt.in), tt.decoded)))
		})
	}
}

func TestCutText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		decoded bool
		want    string
	}{
		{"short", "abc", 5, false, "abc"},
		{"ascii", "abcdef", 4, false, "abcd"},
		{"at a character's end", "abé", 4, false, "abé"},
		{"inside a character", "abcé", 4, false, "abc"},
		{"inside a 4-byte character", "a😀b", 4, false, "a"},
		{"invalid bytes are cut where they are", "ab\x80\x80\x80\x80", 4, false, "ab\x80\x80"},
		{"inside a mark", "ab\xff81c", 4, true, "ab"},
		{"after a mark's first digit", "ab\xff81c", 4, true, "ab"},
		{"after a mark", "ab\xff81c", 5, true, "ab\xff81"},
		{"0xff in UTF-8 input", "ab\xff81c", 4, false, "ab\xff8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(cutText([]byte(tt.in), tt.max, tt.decoded)))
		})
	}
}

// TestRejectTextCut: a record over the limit is cut between characters.
func TestRejectTextCut(t *testing.T) {
	in := header + "1," + strings.Repeat("é", 40) + ",b,c,d\n"
	_, got := readWith(t, []byte(in), Options{MaxRecordBytes: 65})
	require.Len(t, got, 1)
	require.NotNil(t, got[0].R)
	assert.Equal(t, "1,"+strings.Repeat("é", 31), got[0].R.Text)
}
