// Package gen generates realistic customers, for demos and load tests.
//
// The customers of a seed are always the same: ids 1 to n in order, names
// drawn from embedded lists (a few of them needing CSV quoting, some with
// accented letters), emails derived from the names at common mail domains
// and phone numbers like "840 586 9744".
package gen

import (
	"bufio"
	"io"
	"iter"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"goquiz/common"
)

// Header is the header line written by WriteCSV, without its line break.
const Header = "id,first_name,last_name,email,phone"

// A name is a name with its forms for emails and CSV.
type name struct {
	text string // as stored
	slug string // for emails: lower-case ASCII letters
	csv  string // as a CSV field, quoted when needed
}

var (
	firsts     = makeNames(strings.Fields(firstNames), oddFirstNames)
	lasts      = makeNames(strings.Fields(lastNames), oddLastNames)
	domainList = strings.Fields(domains)
)

func makeNames(lists ...[]string) []name {
	var names []name
	for _, l := range lists {
		for _, s := range l {
			names = append(names, name{text: s, slug: slug(s), csv: csvField(s)})
		}
	}
	return names
}

// ascii spells some accented letters in ASCII.
var ascii = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ä': "a", 'å': "a", 'ç': "c", 'è': "e", 'é': "e",
	'ê': "e", 'ë': "e", 'í': "i", 'ï': "i", 'ł': "l", 'ñ': "n", 'ó': "o", 'ö': "o",
	'ø': "o", 'ß': "ss", 'š': "s", 'ú': "u", 'ü': "u",
}

// slug returns s in lower-case ASCII letters, for an email address.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r > unicode.MaxASCII:
			b.WriteString(ascii[r])
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// csvField returns s as an RFC 4180 field: quoted, its quotes doubled, when
// it holds a comma, a quote or a line break.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// generator draws customers from a seeded random source.
type generator struct {
	rng *rand.Rand
}

func newGenerator(seed int64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

// row is a generated customer before its strings are made.
type row struct {
	id          int64
	first, last *name
	style       int
	num         int
	domain      string
	phone       [12]byte
}

// next draws the customer with the given id.
func (g *generator) next(id int64) row {
	r := row{
		id:     id,
		first:  &firsts[g.rng.IntN(len(firsts))],
		last:   &lasts[g.rng.IntN(len(lasts))],
		style:  g.rng.IntN(4),
		num:    g.rng.IntN(100),
		domain: domainList[g.rng.IntN(len(domainList))],
	}
	// NXX NXX XXXX: area code and exchange do not start with 0 or 1.
	digits(r.phone[0:3], 200+g.rng.IntN(800))
	r.phone[3] = ' '
	digits(r.phone[4:7], 200+g.rng.IntN(800))
	r.phone[7] = ' '
	digits(r.phone[8:12], g.rng.IntN(10000))
	return r
}

// digits writes v in decimal into b, zero-padded to len(b).
func digits(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// appendEmail appends the row's email address to b. It needs no CSV quoting.
func (r *row) appendEmail(b []byte) []byte {
	f, l := r.first.slug, r.last.slug
	switch r.style {
	case 0: // hmahedy0@diigo.com: unique, from the id
		b = append(b, f[0])
		b = append(b, l...)
		b = strconv.AppendInt(b, r.id-1, 10)
	case 1: // hadleigh.mahedy@
		b = append(b, f...)
		b = append(b, '.')
		b = append(b, l...)
	case 2: // hadleighm42@
		b = append(b, f...)
		b = append(b, l[0])
		b = strconv.AppendInt(b, int64(r.num), 10)
	default: // hadleigh_mahedy42@
		b = append(b, f...)
		b = append(b, '_')
		b = append(b, l...)
		b = strconv.AppendInt(b, int64(r.num), 10)
	}
	b = append(b, '@')
	return append(b, r.domain...)
}

// Customers returns the sequence of n customers, with ids 1 to n, generated
// from seed: the same seed always gives the same customers. It is empty when
// n < 1. Each iteration generates the sequence afresh.
func Customers(n int64, seed int64) iter.Seq[common.Customer] {
	return func(yield func(common.Customer) bool) {
		g := newGenerator(seed)
		var b []byte
		for id := int64(1); id <= n; id++ {
			r := g.next(id)
			b = r.appendEmail(b[:0])
			email := len(b)
			b = append(b, r.phone[:]...)
			s := string(b) // one allocation for email and phone
			c := common.Customer{
				ID:        id,
				FirstName: r.first.text,
				LastName:  r.last.text,
				Email:     s[:email],
				Phone:     s[email:],
			}
			if !yield(c) {
				return
			}
		}
	}
}

// WriteCSV writes the customers of Customers(n, seed) to w as RFC 4180 CSV:
// the line Header, then one line per customer, fields quoted when needed,
// lines ending in LF.
func WriteCSV(w io.Writer, n int64, seed int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(Header + "\n"); err != nil {
		return err
	}
	g := newGenerator(seed)
	b := make([]byte, 0, 256)
	for id := int64(1); id <= n; id++ {
		r := g.next(id)
		b = strconv.AppendInt(b[:0], id, 10)
		b = append(b, ',')
		b = append(b, r.first.csv...)
		b = append(b, ',')
		b = append(b, r.last.csv...)
		b = append(b, ',')
		b = r.appendEmail(b)
		b = append(b, ',')
		b = append(b, r.phone[:]...)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
