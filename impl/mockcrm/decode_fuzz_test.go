package mockcrm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeCustomer checks decodeCustomer against encoding/json: what it
// accepts decodes, as a plain map, to exactly its five fields with the
// same values; what it returns encodes back to a body it accepts as the
// same customer; what it refuses, it refuses with a short reason.
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
		c, err := decodeCustomer(body)
		if err != nil {
			require.Less(t, len(err.Error()), 100, "reason is not short")
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		want := map[string]any{
			"id": json.Number(strconv.FormatInt(c.ID, 10)), "first_name": c.FirstName,
			"last_name": c.LastName, "email": c.Email, "phone": c.Phone,
		}
		require.Equal(t, want, m)

		again, err := json.Marshal(want)
		require.NoError(t, err)
		back, err := decodeCustomer(again)
		require.NoError(t, err)
		require.Equal(t, c, back)
	})
}
