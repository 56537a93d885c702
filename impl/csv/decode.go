package csv

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// marker starts the three bytes by which a decoder stands for one input
// byte it could not decode: marker and the byte in two lower-case hex
// digits. 0xFF is never part of UTF-8, so the scanner keeps the marked
// bytes in their field like any other, and the record holding them is
// rejected (see Reader.undecodable); the hex digits, being neither quote,
// delimiter nor line break, do not move the record's boundaries.
const marker = 0xff

const hexDigits = "0123456789abcdef"

// replacementUTF8 is U+FFFD, which x/text's decoders write for input they
// cannot decode.
var replacementUTF8 = []byte("\uFFFD")

// decoder turns input in another encoding into UTF-8 for the scanner, as
// x/text's decoder of the encoding does, but marks each sequence that does
// not decode (see marker) where x/text writes U+FFFD: so that the record
// holding it is rejected with its line instead of stored with U+FFFD in
// place of a letter, and its reject shows the bytes that were there.
//
// x/text cannot say which U+FFFD it wrote for bad input and which the
// input held (UTF-16 and GB18030 can encode U+FFFD), nor which input bytes
// a U+FFFD came from. So a chunk whose decoding holds no U+FFFD (nearly
// every chunk: a scan for its first byte) is passed on as decoded; one
// that does is decoded again a character at a time, each character's
// input bytes then known, and a U+FFFD kept only when those bytes are the
// encoding's own for U+FFFD. Decoding again from the chunk's start needs a
// decoder without state between characters, which all of x/text's are but
// ISO-2022-JP's (escape sequences switch its character sets): that one is
// always decoded a character at a time.
type decoder struct {
	dec      transform.Transformer
	fffd     []byte // the encoding's bytes for U+FFFD, nil when it has none
	stateful bool
	one      [utf8.UTFMax]byte
}

// newDecoder returns a decoder of enc, whose canonical WHATWG name is name.
func newDecoder(enc encoding.Encoding, name string) *decoder {
	d := &decoder{dec: enc.NewDecoder(), stateful: name == "iso-2022-jp"}
	if b, err := enc.NewEncoder().Bytes(replacementUTF8); err == nil {
		d.fffd = b
	}
	return d
}

// Reset implements transform.Transformer.
func (d *decoder) Reset() { d.dec.Reset() }

// Transform implements transform.Transformer.
func (d *decoder) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	if !d.stateful {
		nDst, nSrc, err := d.dec.Transform(dst, src, atEOF)
		if bytes.Index(dst[:nDst], replacementUTF8) < 0 {
			return nDst, nSrc, err
		}
		// Decoded again below from src's start: the decoder kept no state.
	}
	return d.runes(dst, src, atEOF)
}

// runes decodes src a character at a time, marking the bytes of each
// character that decodes to U+FFFD but is not the encoding's U+FFFD.
func (d *decoder) runes(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		// Room for the largest output of a character first: a stateful
		// decoder cannot be asked for a character again.
		if len(dst)-nDst < 3*maxCharBytes {
			return nDst, nSrc, transform.ErrShortDst
		}
		n, m, err := d.decodeOne(src[nSrc:], atEOF)
		if err != nil {
			return nDst, nSrc, err
		}
		out, in := d.one[:n], src[nSrc:nSrc+m]
		if bytes.Equal(out, replacementUTF8) && !bytes.Equal(in, d.fffd) {
			for _, b := range in {
				dst[nDst], dst[nDst+1], dst[nDst+2] = marker, hexDigits[b>>4], hexDigits[b&15]
				nDst += 3
			}
		} else {
			nDst += copy(dst[nDst:], out)
		}
		nSrc += m
	}
	return nDst, nSrc, nil
}

// maxCharBytes is the most bytes one character takes in the encodings of
// x/text: four, in GB18030 and in UTF-16's surrogate pairs; an escape
// sequence of ISO-2022-JP takes up to four as well.
const maxCharBytes = 4

// errStuck is returned by decodeOne if the decoder reads and writes
// nothing with input for a character and room for any: a broken decoder.
var errStuck = errors.New("decoder makes no progress")

// decodeOne decodes the first character of src into d.one and returns its
// length in UTF-8 and the bytes of src it took. The decoder is given the
// fewest input bytes it decodes something of, and then the least room it
// writes into, so that what it returns is exactly one character; or an
// escape sequence of ISO-2022-JP, which it reads without writing, returned
// as a character of length 0. The error is transform.ErrShortSrc when src
// ends inside a character, or the decoder's own.
func (d *decoder) decodeOne(src []byte, atEOF bool) (int, int, error) {
	for k := 1; k <= len(src); k++ {
		eof := atEOF && k == len(src)
		for room := 1; room <= utf8.UTFMax; room++ {
			n, m, err := d.dec.Transform(d.one[:room], src[:k], eof)
			if n > 0 || m > 0 {
				if m > maxCharBytes {
					return 0, 0, errStuck
				}
				return n, m, nil
			}
			switch {
			case err == transform.ErrShortSrc && !eof:
				room = utf8.UTFMax // more input
			case err != transform.ErrShortDst:
				return 0, 0, err
			}
		}
	}
	if !atEOF {
		return 0, 0, transform.ErrShortSrc
	}
	return 0, 0, errStuck
}

// appendText appends text to b as valid UTF-8: a byte that is not part of
// UTF-8 is written as \x and its two hex digits, and so is, when decoded
// is set, each byte a decoder marked (see marker).
func appendText(b, text []byte, decoded bool) []byte {
	for len(text) > 0 {
		i := invalidAt(text)
		b = append(b, text[:i]...)
		text = text[i:]
		if len(text) == 0 {
			break
		}
		c := text[0]
		n := 1
		if decoded && c == marker && len(text) >= 3 && isHex(text[1]) && isHex(text[2]) {
			b = append(b, '\\', 'x', text[1], text[2])
			n = 3
		} else {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
		text = text[n:]
	}
	return b
}

// invalidAt returns the offset of the first byte of text that is not part
// of valid UTF-8, or len(text).
func invalidAt(text []byte) int {
	for i := 0; i < len(text); {
		if text[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(text)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// cutText cuts text to at most max bytes without splitting a character
// or, when decoded is set, a decoder's mark.
func cutText(text []byte, max int, decoded bool) []byte {
	if len(text) <= max {
		return text
	}
	n := max
	if !utf8.RuneStart(text[n]) {
		// Back to the start of the character text[n] continues, if it
		// is a whole one.
		for s := n - 1; s >= 0 && s > n-utf8.UTFMax; s-- {
			if utf8.RuneStart(text[s]) {
				if r, size := utf8.DecodeRune(text[s:]); (r != utf8.RuneError || size > 1) && s+size > n {
					n = s
				}
				break
			}
		}
	}
	if decoded {
		switch {
		case n >= 1 && text[n-1] == marker:
			n--
		case n >= 2 && text[n-2] == marker:
			n -= 2
		}
	}
	return text[:n]
}
