package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// hubspotTemplate is the body of a HubSpot contact.
const hubspotTemplate = `{"properties":{"email":{{email}},"firstname":{{first_name}},"lastname":{{last_name}},"phone":{{phone}}}}`

// decodeBody decodes a rendered body, numbers as json.Number.
func decodeBody(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "%s", b)
	require.False(t, dec.More(), "one value: %s", b)
	return v
}

func TestBodyTemplateRenders(t *testing.T) {
	nasty := common.Customer{ID: math.MaxInt64, FirstName: `Zoë "Z" \ </script>`, LastName: "tab\tnl\ncr\r\x01\x1f\x7f",
		Email: "东京@例え.jp \u2028\u2029", Phone: "a\xffb"}
	tests := []struct {
		name     string
		template string
		customer common.Customer
		want     any
	}{
		{"HubSpot contact", hubspotTemplate, nasty, map[string]any{"properties": map[string]any{
			"email": "东京@例え.jp \u2028\u2029", "firstname": `Zoë "Z" \ </script>`, "lastname": "tab\tnl\ncr\r\x01\x1f\x7f", "phone": "a\ufffdb"}}},
		{"every placeholder, spaced, on lines", "{\n  \"id\": {{ id }},\n  \"name\": [{{first_name}}, {{last_name}}],\n  \"contact\": {\"email\": {{email}}, \"phone\": {{phone}}}\n}\n",
			common.Customer{ID: 7, FirstName: "A", LastName: "B", Email: "", Phone: " 5 "},
			map[string]any{"id": json.Number("7"), "name": []any{"A", "B"}, "contact": map[string]any{"email": "", "phone": " 5 "}}},
		{"a value used twice, braces in strings kept", `{"ref":{{id}},"again":{{id}},"note":"{{not a placeholder}} {x}"}`,
			common.Customer{ID: 12}, map[string]any{"ref": json.Number("12"), "again": json.Number("12"), "note": "{{not a placeholder}} {x}"}},
		{"escaped quote before a placeholder", `{"q\"":{{email}}}`, common.Customer{Email: "e"}, map[string]any{`q"`: "e"}},
		{"a bare value", `{{email}}`, common.Customer{Email: `"}`}, `"}`},
		{"no placeholder", `{"fixed":true}`, common.Customer{ID: 1}, map[string]any{"fixed": true}},
		{"a value that looks like a field", hubspotTemplate, common.Customer{Email: `x","admin":true,"y":"`},
			map[string]any{"properties": map[string]any{"email": `x","admin":true,"y":"`, "firstname": "", "lastname": "", "phone": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := ParseBodyTemplate([]byte(tt.template))
			require.NoError(t, err)
			body, err := tpl.render(tt.customer)
			require.NoError(t, err)
			assert.Equal(t, tt.want, decodeBody(t, body))
		})
	}
}

// The default body written as a template (examples/goquiz/body.json)
// renders exactly the default body, its final newline aside: the same
// escaping as encoding/json's.
func TestBodyTemplateOfTheDefaultBodyIsTheDefaultBody(t *testing.T) {
	text, err := os.ReadFile("../../examples/goquiz/body.json")
	require.NoError(t, err)
	tpl, err := ParseBodyTemplate(text)
	require.NoError(t, err)
	for _, c := range []common.Customer{
		{ID: 1},
		{ID: 42, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+44 20 1234"},
		{ID: 7, FirstName: `Zoë "Z" <b>&`, LastName: "O\\Brien\t", Email: "东京@例え.jp\u2028", Phone: "\x01\n\xff"},
	} {
		want, err := encode(c)
		require.NoError(t, err)
		got, err := tpl.render(c)
		require.NoError(t, err)
		assert.Equal(t, string(want)+"\n", string(got))
	}
}

func TestParseBodyTemplateMistakes(t *testing.T) {
	tests := []struct {
		name, template string
		line, column   int
		msg            string
	}{
		{"unknown placeholder", "{\n  \"email\": {{mail}}\n}", 2, 12, "unknown placeholder {{mail}}"},
		{"placeholder in quotes", `{"email":"{{email}}"}`, 1, 11, "{{email}} is between quotes"},
		{"placeholder as a key", `{"a":1,{{email}}:2}`, 1, 8, "{{email}} is in the place of a key"},
		{"placeholder as a nested key", "{\"a\":[{\"b\":{}},{{{first_name}}:1}]}", 1, 17, "{{first_name}} is in the place of a key"},
		{"id as a key", `{{{id}}:1}`, 1, 2, "not JSON"},
		{"unclosed placeholder", `{"email":{{email}`, 1, 10, `"{{" that does not start a placeholder`},
		{"empty placeholder", `{"email":{{}}}`, 1, 10, `"{{" that does not start`},
		{"trailing comma", "{\n\"email\": {{email}},\n}", 3, 1, "not JSON once its placeholders are filled"},
		{"missing comma after a placeholder", `{"a":{{id}} "b":1}`, 1, 13, "not JSON"},
		{"not closed", `{"properties":{"email":{{email}}}`, 1, 34, "ends too soon"},
		{"empty", ``, 1, 1, "ends too soon"},
		{"two values", `{} {}`, 1, 4, "not JSON"},
		{"column in characters", `{"é":{{email}},"ü":x}`, 1, 20, "not JSON"},
		{"adjacent placeholders", `[{{first_name}}{{last_name}}]`, 1, 16, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBodyTemplate([]byte(tt.template))
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, [2]int{tt.line, tt.column}, [2]int{te.Line, te.Column}, "line and column of %s", err)
			assert.Contains(t, te.Msg, tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("%d:%d: ", tt.line, tt.column)), err.Error())
		})
	}
}

// FuzzBodyTemplate: whatever the values, the HubSpot body is one JSON
// object with exactly its four properties, holding the values (invalid
// UTF-8 as U+FFFD).
func FuzzBodyTemplate(f *testing.F) {
	f.Add(int64(1), "Ada", "Lovelace", "ada@example.com", "+44")
	f.Add(int64(7), `"},"x":{"`, "\\", "\x00\x01\u2028", "\xff\xfe")
	tpl, err := ParseBodyTemplate([]byte(hubspotTemplate))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id int64, first, last, email, phone string) {
		body, err := tpl.render(common.Customer{ID: id, FirstName: first, LastName: last, Email: email, Phone: phone})
		require.NoError(t, err)
		var got struct {
			Properties map[string]string `json:"properties"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&got), "%q", body)
		valid := func(s string) string { // as encoding/json: each invalid byte a U+FFFD
			var b strings.Builder
			for _, r := range s {
				b.WriteRune(r)
			}
			return b.String()
		}
		assert.Equal(t, map[string]string{"email": valid(email), "firstname": valid(first), "lastname": valid(last), "phone": valid(phone)}, got.Properties)
		assert.True(t, utf8.Valid(body))
	})
}

// FuzzParseBodyTemplate: a template that parses renders valid JSON,
// whatever the values; one that does not says where.
func FuzzParseBodyTemplate(f *testing.F) {
	for _, s := range []string{hubspotTemplate, `{{{id}}:1}`, `{"a":"{{email}}"}`, `[{{id}},{{ phone }}]`, `{"\"{{":{{email}}}`, "{\n{{"} {
		f.Add(s, `"},"x":"`)
	}
	f.Fuzz(func(t *testing.T, text, value string) {
		tpl, err := ParseBodyTemplate([]byte(text))
		if err != nil {
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			assert.Positive(t, te.Line)
			assert.Positive(t, te.Column)
			return
		}
		body, err := tpl.render(common.Customer{ID: -1, FirstName: value, LastName: value, Email: value, Phone: value})
		require.NoError(t, err)
		assert.True(t, json.Valid(body), "%q rendered %q", text, body)
	})
}

// BenchmarkRender measures rendering a typical customer through
// templates, next to BenchmarkEncode's default body.
func BenchmarkRender(b *testing.B) {
	for _, tt := range []struct{ name, template string }{
		{"default-body", `{"id":{{id}},"first_name":{{first_name}},"last_name":{{last_name}},"email":{{email}},"phone":{{phone}}}`},
		{"hubspot", hubspotTemplate},
	} {
		b.Run(tt.name, func(b *testing.B) {
			tpl, err := ParseBodyTemplate([]byte(tt.template))
			if err != nil {
				b.Fatal(err)
			}
			c := benchCustomer(123456789)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tpl.render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
