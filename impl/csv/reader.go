package csv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/text/transform"

	"goquiz/common"
)

// DefaultMaxRecordBytes is the record size limit used when
// Options.MaxRecordBytes is 0.
const DefaultMaxRecordBytes = 1 << 20

// ErrEmpty is returned by NewReader when the input holds no header line:
// it is empty, or holds only blank lines.
var ErrEmpty = errors.New("empty input: no header line")

// bufSize is the size of the read buffers.
const bufSize = 64 << 10

// Options configures a Reader.
type Options struct {
	// MaxRecordBytes limits the size of one record: the bytes of its
	// original text, without its line break. A larger record is rejected
	// and only its first MaxRecordBytes bytes are kept. 0 means
	// DefaultMaxRecordBytes.
	MaxRecordBytes int
	// Size is the total size of the input in bytes, as read from the
	// underlying reader (compressed, for gzip input), reported by
	// Progress. 0 or a negative value means unknown.
	Size int64
	// Encoding is the input's character encoding (see LookupEncoding);
	// the zero value is UTF-8. A byte-order mark at the start of the
	// input overrides it, as in browsers: UTF-8's, or UTF-16's of either
	// byte order.
	Encoding Encoding
	// Delimiter separates fields: ',', ';', '\t' or '|' (see
	// ParseDelimiter); 0 means ','.
	Delimiter byte
	// Columns names the header columns the customer fields are read
	// from; the zero value reads each from the column of its own name.
	Columns Columns
}

// A Reader reads customers from CSV input. It implements common.Source and
// common.Progresser. Next must not be called concurrently; Progress may be
// called from any goroutine.
type Reader struct {
	count countingReader
	src   *bufio.Reader // over count
	br    *bufio.Reader // decompressed input: src itself, or over gzip
	max   int
	total int64
	done  atomic.Int64
	line  int64 // physical line number of the next line to read
	eof   bool  // the input is read to its end
	err   error // sticky fatal error, or io.EOF

	delim   byte     // field delimiter
	enc     Encoding // the encoding read
	encNote string   // how it was chosen, when not by Options.Encoding alone
	decoded bool     // the input is decoded to UTF-8 (see decoder)
	cols    Columns  // the header names of the required columns

	nfield int               // number of fields in the header
	col    [len(columns)]int // field index of each required column

	// The current record.
	recLine   int64  // line where it starts
	raw       []byte // its original text, at most max+2 bytes
	over      bool   // its text did not fit in raw
	data      []byte // its field values, unquoted, concatenated
	ends      []int  // end offset in data of each field (unless over)
	fstart    int    // start offset in data of the current field
	nf        int    // number of fields
	bad       string // first malformed-CSV error, if any
	openLine  int64  // line of a quote still open at the end of input, or 0
	quoteLine int64  // line where the current quoted field opened
	scratch   []byte // the customer's values, concatenated
}

// countingReader counts the bytes read through it, and keeps the last
// error of its reader.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// NewReader returns a Reader of the CSV input r. It reads and checks the
// header at once: an error is returned when the input is empty (ErrEmpty),
// cannot be read or decompressed, or its header is malformed, lacks a
// required column or names one twice.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{max: opts.MaxRecordBytes, total: -1, line: 1, delim: opts.Delimiter, cols: opts.Columns}
	if rd.max <= 0 {
		rd.max = DefaultMaxRecordBytes
	}
	if opts.Size > 0 {
		rd.total = opts.Size
	}
	if rd.delim == 0 {
		rd.delim = ','
	}
	for i := range rd.col {
		rd.col[i] = -1 // none found yet: see fieldName
	}
	if strings.IndexByte(",;\t|", rd.delim) < 0 {
		return nil, fmt.Errorf("delimiter %s: want %s", strconv.Quote(string(rune(rd.delim))), Delimiters)
	}
	if err := rd.open(r, opts.Encoding); err != nil {
		return nil, err
	}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	rd.updateProgress()
	return rd, nil
}

// Byte sequences that open the input.
const (
	gzipMagic  = "\x1f\x8b"
	utf8BOM    = "\xef\xbb\xbf"
	utf16LEBOM = "\xff\xfe"
	utf16BEBOM = "\xfe\xff"
)

// open sets up the buffered reading of in: through gzip when it starts
// with gzip's magic number, past a byte-order mark, and through a decoder
// to UTF-8 unless the input is in UTF-8.
func (r *Reader) open(in io.Reader, enc Encoding) error {
	r.count.r = in
	r.src = bufio.NewReaderSize(&r.count, bufSize)
	r.br = r.src
	gzipped, err := startsWith(r.src, gzipMagic)
	if err != nil {
		return err
	}
	if gzipped {
		gz, err := newGzipReader(r.src, &r.count)
		if err != nil {
			return err
		}
		r.br = bufio.NewReaderSize(gz, bufSize)
	}
	r.enc, err = r.byteOrderMark(enc)
	if err != nil {
		return err
	}
	if r.enc.enc != nil {
		dec := transform.NewReader(r.br, newDecoder(r.enc.enc, r.enc.name))
		r.br = bufio.NewReaderSize(dec, bufSize)
		r.decoded = true
	}
	return nil
}

// byteOrderMark skips a byte-order mark at the start of the input and
// returns the encoding to read: the mark's, or else enc. The label utf-16
// needs a mark.
func (r *Reader) byteOrderMark(enc Encoding) (Encoding, error) {
	head, err := r.br.Peek(len(utf8BOM))
	if err != nil && err != io.EOF {
		return Encoding{}, fmt.Errorf("read input: %w", err)
	}
	var mark Encoding
	switch {
	case strings.HasPrefix(string(head), utf8BOM):
		_, _ = r.br.Discard(len(utf8BOM))
		mark = Encoding{}
	case strings.HasPrefix(string(head), utf16LEBOM):
		_, _ = r.br.Discard(len(utf16LEBOM))
		mark = utf16(false)
	case strings.HasPrefix(string(head), utf16BEBOM):
		_, _ = r.br.Discard(len(utf16BEBOM))
		mark = utf16(true)
	case enc.bom && len(head) > 0:
		return Encoding{}, errors.New("encoding utf-16 needs a byte-order mark at the start of the input, and it has none: name the byte order with utf-16le or utf-16be")
	default:
		return enc, nil
	}
	if mark.Name() != enc.Name() {
		r.encNote = "byte-order mark"
		if !enc.bom || mark.enc == nil { // utf-16 names either order, not utf-8
			r.encNote += ", not " + enc.Name()
		}
	}
	return mark, nil
}

// startsWith reports whether what is left to read from br starts with
// prefix.
func startsWith(br *bufio.Reader, prefix string) (bool, error) {
	b, err := br.Peek(len(prefix))
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read input: %w", err)
	}
	return string(b) == prefix, nil
}

// Next reads the next record. It returns a customer; or a reject, for a
// record that is malformed, too large, has the wrong number of fields or an
// invalid id; or io.EOF at the end of the input. Any other error is fatal
// (reading or decompressing the input failed) and is returned again by
// later calls.
func (r *Reader) Next() (common.Customer, *common.Reject, error) {
	for r.err == nil {
		kind, err := r.readRecord()
		if err != nil {
			return common.Customer{}, nil, err
		}
		r.updateProgress()
		switch kind {
		case recEnd:
			r.err = io.EOF
		case recData:
			return r.customer()
		}
	}
	return common.Customer{}, nil, r.err
}

// Describe says how the input is read, for a summary: its encoding, how
// it was chosen when a byte-order mark chose it, its delimiter and the
// columns mapped, as in
// `encoding windows-1252, delimiter ";", columns id="Customer ID"`.
func (r *Reader) Describe() string {
	var b strings.Builder
	b.WriteString("encoding " + r.enc.String())
	if r.encNote != "" {
		b.WriteString(" (" + r.encNote + ")")
	}
	b.WriteString(", delimiter " + strconv.Quote(string(rune(r.delim))))
	if r.cols.Mapped() {
		b.WriteString(", columns " + r.cols.String())
	} else {
		b.WriteString(", columns by their own names")
	}
	return b.String()
}

// Progress returns the bytes consumed so far from the underlying reader
// (compressed bytes, for gzip input) and Options.Size, or -1 when the size
// is unknown.
func (r *Reader) Progress() (done, total int64) {
	return r.done.Load(), r.total
}

// updateProgress stores the bytes consumed so far for Progress: those read
// from the underlying reader less those still buffered.
func (r *Reader) updateProgress() {
	r.done.Store(r.count.n - int64(r.src.Buffered()))
}

var (
	_ common.Source     = (*Reader)(nil)
	_ common.Progresser = (*Reader)(nil)
)
