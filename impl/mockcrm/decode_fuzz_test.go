package mockcrm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"goquiz/common"
)

// referenceDecode is decodeCustomer written plainly with encoding/json's
// token API, to check the hand-written scanner against.
func referenceDecode(body []byte) (common.Customer, bool) {
	var c common.Customer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return c, false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return c, false
		}
		key := tok.(string)
		if seen[key] {
			return c, false
		}
		seen[key] = true
		if tok, err = dec.Token(); err != nil {
			return c, false
		}
		if key == "id" {
			n, ok := tok.(json.Number)
			if !ok {
				return c, false
			}
			id, err := parseID(string(n))
			if err != nil {
				return c, false
			}
			c.ID = id
			continue
		}
		s, ok := tok.(string)
		if !ok {
			return c, false
		}
		switch key {
		case "first_name":
			c.FirstName = s
		case "last_name":
			c.LastName = s
		case "email":
			c.Email = s
		case "phone":
			c.Phone = s
		default:
			return c, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return c, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, false
	}
	return c, len(seen) == len(customerKeys)
}

func FuzzDecodeCustomer(f *testing.F) {
	f.Add([]byte(customerJSON(1)))
	f.Add([]byte(`{"\u0069d":5,"first_name":"a\"b\\c\u00e9\ud83d\ude00","last_name":"","email":"","phone":"\/"}`))
	f.Add([]byte("{\"id\":1,\"first_name\":\"\xff\",\"last_name\":\"\",\"email\":\"\",\"phone\":\"\"}"))
	f.Add([]byte(` { "phone" : "" , "email" : "" , "last_name" : "" , "first_name" : "" , "id" : 9223372036854775807 } `))
	f.Add([]byte(`{"id":1e2,"first_name":"","last_name":"","email":"","phone":""}`))
	f.Add([]byte(`{"id":1,"id":1}`))
	f.Add([]byte(`[1]`))
	for _, tt := range badBodies {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeCustomer(body)
		want, ok := referenceDecode(body)
		require.Equal(t, ok, err == nil, "body %q: err %v", body, err)
		if ok {
			require.Equal(t, want, got)
		}
	})
}
