package mockcrm

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestDecodeCustomerValid(t *testing.T) {
	tests := []struct {
		name string
		body string
		want common.Customer
	}{
		{
			name: "wire order",
			body: `{"id":42,"first_name":"Ada","last_name":"Lovelace","email":"a@b.c","phone":"1"}`,
			want: common.Customer{ID: 42, FirstName: "Ada", LastName: "Lovelace", Email: "a@b.c", Phone: "1"},
		},
		{
			name: "any order and white space",
			body: " {\n \"phone\" : \"\", \"email\":\"\",\"id\": 1 ,\"last_name\":\"\",\"first_name\":\"\"}\n",
			want: common.Customer{ID: 1},
		},
		{
			name: "max id and escapes",
			body: `{"id":9223372036854775807,"first_name":"Zo\u00eb \"Z\"","last_name":"a\\b\n","email":"东京","phone":"\u2028"}`,
			want: common.Customer{ID: 9223372036854775807, FirstName: `Zoë "Z"`, LastName: "a\\b\n", Email: "东京", Phone: "\u2028"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCustomer([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// badBodies are request bodies refused with 400, with a part of the
// reason given.
var badBodies = []struct {
	name   string
	body   string
	reason string
}{
	{"empty", ``, "empty body"},
	{"white space only", "  \n", "empty body"},
	{"not json", `hello`, "invalid JSON"},
	{"array", `[]`, "not a JSON object"},
	{"string", `"x"`, "not a JSON object"},
	{"null", `null`, "not a JSON object"},
	{"truncated", `{"id":1,`, "invalid JSON"},
	{"trailing comma", `{"id":1,"first_name":"","last_name":"","email":"","phone":"",}`, "invalid JSON"},
	{"missing id", `{"first_name":"","last_name":"","email":"","phone":""}`, `missing key "id"`},
	{"missing first_name", `{"id":1,"last_name":"","email":"","phone":""}`, `missing key "first_name"`},
	{"missing last_name", `{"id":1,"first_name":"","email":"","phone":""}`, `missing key "last_name"`},
	{"missing email", `{"id":1,"first_name":"","last_name":"","phone":""}`, `missing key "email"`},
	{"missing phone", `{"id":1,"first_name":"","last_name":"","email":""}`, `missing key "phone"`},
	{"empty object", `{}`, `missing key "id"`},
	{"unknown key", `{"id":1,"first_name":"","last_name":"","email":"","phone":"","vip":true}`, `unknown key "vip"`},
	{"key case", `{"ID":1,"first_name":"","last_name":"","email":"","phone":""}`, `unknown key "ID"`},
	{"duplicate key", `{"id":1,"first_name":"","last_name":"","email":"","phone":"","id":2}`, `duplicate key "id"`},
	{"id string", `{"id":"1","first_name":"","last_name":"","email":"","phone":""}`, "id is not a JSON number"},
	{"id null", `{"id":null,"first_name":"","last_name":"","email":"","phone":""}`, "id is not a JSON number"},
	{"id fraction", `{"id":1.5,"first_name":"","last_name":"","email":"","phone":""}`, "id is not an integer"},
	{"id point zero", `{"id":1.0,"first_name":"","last_name":"","email":"","phone":""}`, "id is not an integer"},
	{"id exponent", `{"id":1e3,"first_name":"","last_name":"","email":"","phone":""}`, "id is not an integer"},
	{"id zero", `{"id":0,"first_name":"","last_name":"","email":"","phone":""}`, "id is not positive"},
	{"id negative", `{"id":-7,"first_name":"","last_name":"","email":"","phone":""}`, "id is not positive"},
	{"id overflow", `{"id":9223372036854775808,"first_name":"","last_name":"","email":"","phone":""}`, "id is out of range"},
	{"id leading zero", `{"id":01,"first_name":"","last_name":"","email":"","phone":""}`, "invalid JSON at offset"},
	{"name number", `{"id":1,"first_name":5,"last_name":"","email":"","phone":""}`, "first_name is not a JSON string"},
	{"name null", `{"id":1,"first_name":"","last_name":null,"email":"","phone":""}`, "last_name is not a JSON string"},
	{"email object", `{"id":1,"first_name":"","last_name":"","email":{},"phone":""}`, "email is not a JSON string"},
	{"phone array", `{"id":1,"first_name":"","last_name":"","email":"","phone":["1"]}`, "phone is not a JSON string"},
	{"phone bool", `{"id":1,"first_name":"","last_name":"","email":"","phone":true}`, "phone is not a JSON string"},
	{"trailing garbage", `{"id":1,"first_name":"","last_name":"","email":"","phone":""}x`, "invalid JSON"},
	{"two objects", `{"id":1,"first_name":"","last_name":"","email":"","phone":""}{}`, "invalid JSON"},
	{"long unknown key", `{"` + strings.Repeat("k", 1000) + `":1}`, "unknown key"},
}

func TestDecodeCustomerInvalid(t *testing.T) {
	for _, tt := range badBodies {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeCustomer([]byte(tt.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.reason)
			assert.Less(t, len(err.Error()), 100, "reason is not short")
		})
	}
}
