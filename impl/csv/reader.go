package csv

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

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

// maxShown bounds the length of input values quoted in messages.
const maxShown = 40

// The required columns, in the order of Reader.col.
var columns = [...]string{"id", "first_name", "last_name", "email", "phone"}

const (
	colID = iota
	colFirstName
	colLastName
	colEmail
	colPhone
)

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
}

// Parser states within a record.
const (
	stFieldStart   = iota // at the start of a field
	stUnquoted            // inside an unquoted field
	stQuoted              // inside a quoted field
	stQuoteAfter          // after a quote inside a quoted field
	stQuoteAfterCR        // after a closing quote and a CR
	stSkip                // malformed: skipping to the end of the line
)

// Kinds of records read by readRecord.
const (
	recEnd   = iota // end of input, no record
	recBlank        // a blank line
	recData         // a record
)

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

	nfield int               // number of fields in the header
	col    [len(columns)]int // field index of each required column

	// The current record.
	recLine  int64  // line where it starts
	raw      []byte // its original text, at most max+2 bytes
	over     bool   // its text did not fit in raw
	data     []byte // its field values, unquoted, concatenated
	ends     []int  // end offset in data of each field (unless over)
	fstart   int    // start offset in data of the current field
	nf       int    // number of fields
	bad      string // first malformed-CSV error, if any
	openLine int64  // line of a quote still open at the end of input, or 0
	scratch  []byte
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader returns a Reader of the CSV input r. It reads and checks the
// header at once: an error is returned when the input is empty (ErrEmpty),
// cannot be read or decompressed, or its header is malformed, lacks a
// required column or names one twice.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{max: opts.MaxRecordBytes, total: -1, line: 1}
	if rd.max <= 0 {
		rd.max = DefaultMaxRecordBytes
	}
	if opts.Size > 0 {
		rd.total = opts.Size
	}
	rd.count.r = r
	rd.src = bufio.NewReaderSize(&rd.count, bufSize)
	rd.br = rd.src
	magic, err := rd.src.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(rd.src)
		if err != nil {
			return nil, fmt.Errorf("gzip input: %w", err)
		}
		rd.br = bufio.NewReaderSize(gz, bufSize)
	}
	bom, err := rd.br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if len(bom) == 3 && bom[0] == 0xef && bom[1] == 0xbb && bom[2] == 0xbf {
		_, _ = rd.br.Discard(3)
	}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	rd.updateProgress()
	return rd, nil
}

// readHeader reads the header and finds the required columns in it.
func (r *Reader) readHeader() error {
	for {
		kind, err := r.readRecord()
		if err != nil {
			return err
		}
		if kind == recEnd {
			return ErrEmpty
		}
		if kind == recData {
			break
		}
	}
	switch {
	case r.over || len(r.text()) > r.max:
		return fmt.Errorf("header on line %d is larger than %d bytes", r.recLine, r.max)
	case r.openLine > 0:
		return fmt.Errorf("malformed header: quote opened on line %d never closes", r.openLine)
	case r.bad != "":
		return fmt.Errorf("malformed header on line %d: %s", r.recLine, r.bad)
	}
	r.nfield = r.nf
	for i := range r.col {
		r.col[i] = -1
	}
	names := make([]string, r.nf)
	for i := range names {
		names[i] = strings.TrimSpace(string(r.field(i)))
		for c, want := range columns {
			if !strings.EqualFold(names[i], want) {
				continue
			}
			if r.col[c] >= 0 {
				return fmt.Errorf("header names column %q twice (fields %d and %d)", want, r.col[c]+1, i+1)
			}
			r.col[c] = i
		}
	}
	var missing []string
	for c, want := range columns {
		if r.col[c] < 0 {
			missing = append(missing, strconv.Quote(want))
		}
	}
	const hint = " — the first line must name the columns id, first_name, last_name, email, phone (any case and order)"
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("header has no %s column (columns found: %s)%s", missing[0], listNames(names), hint)
	default:
		return fmt.Errorf("header has no %s columns (columns found: %s)%s", strings.Join(missing, ", "), listNames(names), hint)
	}
}

// listNames lists header names for an error message, shortened when long.
func listNames(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > 200 {
			fmt.Fprintf(&b, "... (%d columns)", len(names))
			break
		}
		if n == "" || strings.ContainsAny(n, ",\"") || strconv.Quote(n) != `"`+n+`"` {
			n = shorten(strconv.Quote(n))
		} else {
			n = shorten(n)
		}
		b.WriteString(n)
	}
	return b.String()
}

// shorten cuts s to about maxShown bytes.
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "..."
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

// Progress returns the bytes consumed so far from the underlying reader
// (compressed bytes, for gzip input) and Options.Size, or -1 when the size
// is unknown.
func (r *Reader) Progress() (done, total int64) {
	return r.done.Load(), r.total
}

func (r *Reader) updateProgress() {
	r.done.Store(r.count.n - int64(r.src.Buffered()))
}

// customer checks the record just read and returns it as a customer or a
// reject.
func (r *Reader) customer() (common.Customer, *common.Reject, error) {
	reason := ""
	text := r.text()
	switch {
	case r.over || len(text) > r.max:
		text = text[:r.max]
		reason = fmt.Sprintf("record is larger than %d bytes", r.max)
		if r.openLine > 0 {
			reason += fmt.Sprintf(" (quote opened on line %d never closes)", r.openLine)
		} else if r.bad != "" {
			reason += " (" + r.bad + ")"
		}
	case r.openLine > 0:
		reason = fmt.Sprintf("quote opened on line %d never closes", r.openLine)
	case r.bad != "":
		reason = r.bad
	case r.nf != r.nfield:
		reason = fmt.Sprintf("has %d fields, header has %d", r.nf, r.nfield)
	}
	var id int64
	if reason == "" {
		id, reason = parseID(r.field(r.col[colID]))
	}
	if reason == "" {
		reason = r.storable()
	}
	if reason != "" {
		return common.Customer{}, &common.Reject{Line: r.recLine, Reason: reason, Text: string(text)}, nil
	}
	// One allocation for the four strings.
	b := r.scratch[:0]
	var end [4]int
	for i, c := range [...]int{colFirstName, colLastName, colEmail, colPhone} {
		b = append(b, r.field(r.col[c])...)
		end[i] = len(b)
	}
	r.scratch = b
	s := string(b)
	return common.Customer{
		ID:        id,
		FirstName: s[:end[0]],
		LastName:  s[end[0]:end[1]],
		Email:     s[end[1]:end[2]],
		Phone:     s[end[2]:end[3]],
	}, nil, nil
}

// storable returns why the record's values cannot be stored as PostgreSQL
// text (invalid UTF-8, or a NUL byte), or "".
func (r *Reader) storable() string {
	for _, c := range [...]int{colFirstName, colLastName, colEmail, colPhone} {
		f := r.field(r.col[c])
		if !utf8.Valid(f) {
			return columns[c] + " is not valid UTF-8"
		}
		if bytes.IndexByte(f, 0) >= 0 {
			return columns[c] + " contains a NUL byte"
		}
	}
	return ""
}

// parseID parses an id: a positive decimal integer fitting int64, digits
// only. It returns the reason why b is not an id, or "".
func parseID(b []byte) (int64, string) {
	var n uint64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Sprintf("id %s is not a positive integer", shorten(strconv.Quote(string(b))))
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxInt64 {
			overflow = true
			n = math.MaxInt64 // keep n*10 from wrapping
		}
	}
	switch {
	case overflow:
		return 0, fmt.Sprintf("id %s is out of range (largest id is %d)", shorten(strconv.Quote(string(b))), int64(math.MaxInt64))
	case n == 0:
		return 0, fmt.Sprintf("id %s is not a positive integer", shorten(strconv.Quote(string(b))))
	}
	return int64(n), ""
}

// field returns the value of field i of the current record.
func (r *Reader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

// text returns the original text of the current record without its line
// break, cut to max bytes when longer.
func (r *Reader) text() []byte {
	t := r.raw
	if r.over {
		return t[:r.max]
	}
	if n := len(t); n > 0 && t[n-1] == '\n' {
		t = t[:n-1]
		if n := len(t); n > 0 && t[n-1] == '\r' {
			t = t[:n-1]
		}
	} else if n > 0 && t[n-1] == '\r' && r.openLine == 0 {
		t = t[:n-1] // a CR at the end of the input ends the record
	}
	return t
}

// endField ends the current field.
func (r *Reader) endField() {
	if !r.over {
		r.ends = append(r.ends, len(r.data))
	}
	r.nf++
	r.fstart = len(r.data)
}

// fail records a malformed-CSV error unless one was recorded already.
func (r *Reader) fail(format string, args ...any) {
	if r.bad == "" {
		r.bad = fmt.Sprintf(format, args...)
	}
}

// readRecord reads the next record, which ends at a line break outside
// quotes, at the end of the line where it was found malformed, or at the
// end of the input. It keeps the first max+2 bytes of its text in r.raw and,
// when it fits, its fields in r.data and r.ends.
func (r *Reader) readRecord() (int, error) {
	if r.eof {
		return recEnd, nil
	}
	r.raw, r.data, r.ends = r.raw[:0], r.data[:0], r.ends[:0]
	r.over, r.fstart, r.nf, r.bad, r.openLine = false, 0, 0, "", 0
	r.recLine = r.line
	limit := r.max + 2 // room for a CRLF
	st := stFieldStart
	var quoteLine int64
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			r.err = fmt.Errorf("read input at line %d: %w", r.line, err)
			return 0, r.err
		}
		if !r.over {
			if len(r.raw)+len(chunk) <= limit {
				r.raw = append(r.raw, chunk...)
			} else {
				r.raw = append(r.raw, chunk[:limit-len(r.raw)]...)
				r.over = true
			}
		}
		n := len(chunk)
		eol := n > 0 && chunk[n-1] == '\n'
		for i := 0; i < n; {
			switch st {
			case stFieldStart:
				if chunk[i] == '"' {
					st = stQuoted
					quoteLine = r.line
					i++
				} else {
					st = stUnquoted
				}
			case stUnquoted:
				rest := chunk[i:]
				j := bytes.IndexByte(rest, ',')
				seg := rest
				if j >= 0 {
					seg = rest[:j]
				} else if eol {
					seg = rest[:len(rest)-1]
				}
				if bytes.IndexByte(seg, '"') >= 0 {
					r.fail("bare quote in unquoted field %d", r.nf+1)
					st = stSkip
					i = n
					break
				}
				if !r.over {
					r.data = append(r.data, seg...)
				}
				if j < 0 {
					i = n
					break
				}
				r.endField()
				st = stFieldStart
				i += j + 1
			case stQuoted:
				rest := chunk[i:]
				j := bytes.IndexByte(rest, '"')
				if j < 0 {
					if !r.over {
						r.data = append(r.data, rest...)
					}
					i = n
					break
				}
				if !r.over {
					r.data = append(r.data, rest[:j]...)
				}
				st = stQuoteAfter
				i += j + 1
			case stQuoteAfter:
				switch chunk[i] {
				case '"':
					if !r.over {
						r.data = append(r.data, '"')
					}
					st = stQuoted
				case ',':
					r.endField()
					st = stFieldStart
				case '\n':
					// The record ends: it is the chunk's last byte.
				case '\r':
					st = stQuoteAfterCR
				default:
					r.fail("text after closing quote in field %d", r.nf+1)
					st = stSkip
					i = n
					continue
				}
				i++
			case stQuoteAfterCR:
				if chunk[i] != '\n' {
					r.fail("text after closing quote in field %d", r.nf+1)
					st = stSkip
					i = n
					continue
				}
				i++
			case stSkip:
				i = n
			}
		}
		if eol {
			r.line++
			if st != stQuoted {
				return r.endRecord(st), nil
			}
			continue
		}
		if err == io.EOF {
			r.eof = true
			switch {
			case len(r.raw) == 0:
				return recEnd, nil
			case st == stQuoted:
				r.openLine = quoteLine
				return recData, nil
			}
			return r.endRecord(st), nil
		}
	}
}

// endRecord ends the current record, outside quotes, in state st.
func (r *Reader) endRecord(st int) int {
	if st == stUnquoted && !r.over {
		// Unquoted values are raw text: drop the CR of a CRLF.
		if n := len(r.data); n > r.fstart && r.data[n-1] == '\r' {
			r.data = r.data[:n-1]
		}
	}
	if st != stSkip {
		r.endField()
	}
	if !r.over && len(r.text()) == 0 {
		return recBlank
	}
	return recData
}

var (
	_ common.Source     = (*Reader)(nil)
	_ common.Progresser = (*Reader)(nil)
)
