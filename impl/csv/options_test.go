package csv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		err  string
	}{
		{in: ",", want: ','},
		{in: ";", want: ';'},
		{in: "|", want: '|'},
		{in: "\t", want: '\t'},
		{in: `\t`, want: '\t'},
		{in: "", err: "is empty"},
		{in: "tab", err: `"tab" is not a delimiter`},
		{in: ";;", err: `";;" is not a delimiter`},
		{in: `"`, err: `"\"" is not a delimiter`},
		{in: " ", err: `" " is not a delimiter`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDelimiter(tt.in)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d)
		})
	}
}

// TestDelimiters reads the same records with each delimiter: quoted
// delimiters, doubled quotes and line breaks inside fields, the other
// delimiters as plain text, and the strict rejection of stray quotes.
func TestDelimiters(t *testing.T) {
	const text = "id;first_name;last_name;email;phone\r\n" +
		"1;\"Smith; John\";\"a\"\"b\";\"x\ny\";,|\t\r\n" +
		"2;a;b;c\r\n" +
		"3;a\"b;c;d;e\r\n" +
		"4;\"a\"b;c;d;e\r\n" +
		"5;\"\";\";\";\"\"\"\";\"\"\"\"\"\"\r\n" +
		"6;\"never closes;b;c;d\r\n"
	others := map[byte]string{';': ",|\t", ',': ";|\t", '\t': ",;|", '|': ",;\t"}
	for _, d := range []byte{',', ';', '\t', '|'} {
		t.Run(strings.ReplaceAll(string(d), "\t", "tab"), func(t *testing.T) {
			// The test's own separator becomes d, and what the first
			// record's last field held of d, the delimiter it replaced.
			in := strings.NewReplacer(";", string(d), ",|\t", others[d]).Replace(text)
			_, got := readWith(t, []byte(in), Options{Delimiter: d})
			sep := string(d)
			assert.Equal(t, []item{
				cust(1, "Smith"+sep+" John", `a"b`, "x\ny", others[d]),
				rej(4, "has 4 fields, header has 5", "2"+sep+"a"+sep+"b"+sep+"c"),
				rej(5, "bare quote in unquoted field 2", "3"+sep+"a\"b"+sep+"c"+sep+"d"+sep+"e"),
				rej(6, "text after closing quote in field 2", "4"+sep+"\"a\"b"+sep+"c"+sep+"d"+sep+"e"),
				cust(5, "", sep, `"`, `""`),
				rej(8, "quote opened on line 8 never closes", "6"+sep+"\"never closes"+sep+"b"+sep+"c"+sep+"d"),
			}, got)
		})
	}
}

func TestDelimiterCommaIsTextForOthers(t *testing.T) {
	_, got := readWith(t, []byte("id|first_name|last_name|email|phone\n1|Doe, John|b|c|1,5\n"), Options{Delimiter: '|'})
	assert.Equal(t, []item{cust(1, "Doe, John", "b", "c", "1,5")}, got)
}

func TestNewReaderRefusesOtherDelimiters(t *testing.T) {
	for _, d := range []byte{'"', '\n', '\r', 'a', 0xff} {
		_, err := NewReader(strings.NewReader(header), Options{Delimiter: d})
		assert.ErrorContains(t, err, "delimiter", "delimiter %q", d)
	}
}

func TestParseColumns(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // Columns.String
		err  string
	}{
		{name: "none", in: "", want: ""},
		{name: "spaces only", in: "  ", want: ""},
		{
			name: "all five",
			in:   "id=Customer ID,first_name=First Name,last_name=Last Name,email=E-mail Address,phone=Phone number",
			want: `id="Customer ID", first_name="First Name", last_name="Last Name", email="E-mail Address", phone="Phone number"`,
		},
		{name: "some, spaces and case", in: " Email = Mail , ID=Nr. ", want: `id="Nr.", email="Mail"`},
		{name: "equals sign in a name", in: "phone=Tel=Fax", want: `phone="Tel=Fax"`},
		{name: "a field's own name", in: "email=email", want: `email="email"`},
		{name: "swapped names", in: "first_name=last_name,last_name=first_name", want: `first_name="last_name", last_name="first_name"`},
		{name: "no equals sign", in: "id", err: `entry 1 ("id") is not field=Header Name`},
		{name: "trailing comma", in: "id=Nr,", err: `entry 2 ("") is not field=Header Name`},
		{name: "unknown field", in: "id=Nr,mail=E-Mail", err: `entry 2 names the field "mail": the fields are id, first_name, last_name, email, phone`},
		{name: "empty name", in: "id= ", err: "entry 1 gives id an empty header name"},
		{name: "field twice", in: "id=A,ID=B", err: "entry 2 maps id again"},
		{name: "two fields from one column", in: "first_name=Name,last_name=name", err: `first_name and last_name would both be read from the column "Name"`},
		{name: "a column of another field's own name", in: "first_name=Email", err: `first_name and email would both be read from the column "Email"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseColumns(tt.in)
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.String())
			assert.Equal(t, tt.want != "", c.Mapped())
		})
	}
}

func columnsOf(t *testing.T, s string) Columns {
	t.Helper()
	c, err := ParseColumns(s)
	require.NoError(t, err)
	return c
}

func TestColumns(t *testing.T) {
	const excel = "id=Customer ID,first_name=First Name,last_name=Last Name,email=E-mail Address,phone=Phone number"
	tests := []struct {
		name    string
		columns string
		in      string
		want    []item
	}{
		{
			name:    "all mapped, in their order",
			columns: excel,
			in:      "Customer ID,First Name,Last Name,E-mail Address,Phone number\n1,a,b,c,d\n",
			want:    []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name:    "reordered, other case, spaces around names, extra columns",
			columns: excel,
			in:      " phone NUMBER ,Notes,e-mail address,customer id, Last Name,first name,id\nd,n,c,1,b,a,99\n",
			want:    []item{cust(1, "a", "b", "c", "d")},
		},
		{
			name:    "some mapped, the others by their own names",
			columns: "id=Nr,email=Mail",
			in:      "first_name,Nr,last_name,Mail,phone,email\na,7,b,c,d,ignored\n",
			want:    []item{cust(7, "a", "b", "c", "d")},
		},
		{
			name:    "swapped names",
			columns: "first_name=last_name,last_name=first_name",
			in:      "id,first_name,last_name,email,phone\n1,Lee,Ann,c,d\n",
			want:    []item{cust(1, "Ann", "Lee", "c", "d")},
		},
		{
			name:    "quoted header names",
			columns: "id=Kunden-Nr.;Filiale",
			in:      "\"Kunden-Nr.;Filiale\",first_name,last_name,email,phone\n3,a,b,c,d\n",
			want:    []item{cust(3, "a", "b", "c", "d")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := readWith(t, []byte(tt.in), Options{Columns: columnsOf(t, tt.columns)})
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestColumnsHeaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		columns string
		delim   byte
		in      string
		want    string
	}{
		{
			name:    "a mapped column missing",
			columns: "id=Customer ID,email=E-mail Address",
			in:      "Customer ID,first_name,last_name,Email,phone\n",
			want: `header has no "E-mail Address" (email in COLUMNS) column (columns found: Customer ID, first_name, last_name, Email, phone)` +
				` — the first line must name the columns that COLUMNS maps (id="Customer ID", email="E-mail Address") and the other fields by their own names, any case and order`,
		},
		{
			name:    "mapped and unmapped columns missing",
			columns: "id=Nr",
			in:      "id,first_name,last_name,email\n",
			want:    `header has no "Nr" (id in COLUMNS), "phone" columns (columns found: id, first_name, last_name, email)`,
		},
		{
			name:    "a mapped column twice",
			columns: "id=Nr",
			in:      "Nr,first_name,last_name,email,phone,nr\n",
			want:    `header names column "Nr" twice (fields 1 and 6)`,
		},
		{
			name: "semicolons read with commas",
			in:   "id;first_name;last_name;email;phone\n",
			want: `(columns found: id;first_name;last_name;email;phone) — the first line must name the columns id, first_name, last_name, email, phone (any case and order); it looks separated by ";": set DELIMITER`,
		},
		{
			name:  "commas read with tabs",
			delim: '\t',
			in:    header,
			want:  `it looks separated by ",": set DELIMITER`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in), Options{Columns: columnsOf(t, tt.columns), Delimiter: tt.delim})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}
