package crm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSFList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sfMember // nil when invalid
	}{
		{name: "string with integer params", in: `"default";r=50;t=30`, want: []sfMember{
			{val: sfValue{kind: sfString, text: "default"}, params: []sfParam{
				{"r", sfValue{kind: sfInteger, num: 50}}, {"t", sfValue{kind: sfInteger, num: 30}}}},
		}},
		{name: "two members, white space", in: ` "a";q=1 ,	"b";q=2 `, want: []sfMember{
			{val: sfValue{kind: sfString, text: "a"}, params: []sfParam{{"q", sfValue{kind: sfInteger, num: 1}}}},
			{val: sfValue{kind: sfString, text: "b"}, params: []sfParam{{"q", sfValue{kind: sfInteger, num: 2}}}},
		}},
		{name: "token, boolean param, spaces after semicolon", in: `default; flag;x=?0`, want: []sfMember{
			{val: sfValue{kind: sfToken, text: "default"}, params: []sfParam{
				{"flag", sfValue{kind: sfBoolean, num: 1}}, {"x", sfValue{kind: sfBoolean, num: 0}}}},
		}},
		{name: "every bare item type", in: `1, -2, 3.25, "s\"\\", tok/en:x, :aGk=:, ?1, @1700000000, %"caf%c3%a9", (1 "a";p);q`, want: []sfMember{
			{val: sfValue{kind: sfInteger, num: 1}},
			{val: sfValue{kind: sfInteger, num: -2}},
			{val: sfValue{kind: sfDecimal}},
			{val: sfValue{kind: sfString, text: `s"\`}},
			{val: sfValue{kind: sfToken, text: "tok/en:x"}},
			{val: sfValue{kind: sfBytes}},
			{val: sfValue{kind: sfBoolean, num: 1}},
			{val: sfValue{kind: sfDate, num: 1700000000}},
			{val: sfValue{kind: sfDisplayString}},
			{val: sfValue{kind: sfInnerList}, params: []sfParam{{"q", sfValue{kind: sfBoolean, num: 1}}}},
		}},
		{name: "byte sequence param", in: `"peruser";r=1;pk=:cHsdsRa894==:`, want: []sfMember{
			{val: sfValue{kind: sfString, text: "peruser"}, params: []sfParam{
				{"r", sfValue{kind: sfInteger, num: 1}}, {"pk", sfValue{kind: sfBytes}}}},
		}},
		{name: "keys and tokens starting with a star", in: `*tok;*k=1;k*.-_9=2`, want: []sfMember{
			{val: sfValue{kind: sfToken, text: "*tok"}, params: []sfParam{
				{"*k", sfValue{kind: sfInteger, num: 1}}, {"k*.-_9", sfValue{kind: sfInteger, num: 2}}}},
		}},
		{name: "token with every tchar", in: "a!#$%&'*+-.^_`|~:/z", want: []sfMember{
			{val: sfValue{kind: sfToken, text: "a!#$%&'*+-.^_`|~:/z"}},
		}},
		{name: "15 digits", in: `999999999999999`, want: []sfMember{{val: sfValue{kind: sfInteger, num: 999999999999999}}}},
		{name: "empty", in: ``, want: []sfMember{}},
		{name: "16 digits", in: `1000000000000000`},
		{name: "trailing comma", in: `"a";r=1,`},
		{name: "double comma", in: `"a",,"b"`},
		{name: "missing comma", in: `"a" "b"`},
		{name: "unterminated string", in: `"abc`},
		{name: "bad escape", in: `"a\nb"`},
		{name: "control in string", in: "\"a\x01\""},
		{name: "non-ascii in string", in: `"é"`},
		{name: "upper case key", in: `"a";R=1`},
		{name: "digit starts key", in: `"a";1r=1`},
		{name: "param without value after equals", in: `"a";r=`},
		{name: "lone minus", in: `-`},
		{name: "decimal with 4 fraction digits", in: `1.2345`},
		{name: "decimal ending in dot", in: `1.`},
		{name: "decimal with 13 integer digits", in: `1234567890123.5`},
		{name: "bad boolean", in: `?2`},
		{name: "date with decimal", in: `@1.5`},
		{name: "bad byte sequence", in: `:a*b:`},
		{name: "unterminated byte sequence", in: `:aGk=`},
		{name: "display string with upper hex", in: `%"caf%C3%A9"`},
		{name: "control in display string", in: "%\"a\x01\""},
		{name: "leading tab", in: "\t\"a\""},
		{name: "display string without quote", in: `%abc`},
		{name: "unterminated inner list", in: `(1 2`},
		{name: "inner list without space", in: `(1"a")`},
		{name: "garbage", in: `=`},
		{name: "dictionary syntax", in: `limit=100, remaining=50`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSFList(tt.in)
			if tt.want == nil {
				require.ErrorIs(t, err, errSyntax)
				return
			}
			require.NoError(t, err)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseSFDictionary(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sfMember // nil when invalid
	}{
		{name: "draft 7 RateLimit", in: `limit=100, remaining=50, reset=5`, want: []sfMember{
			{key: "limit", val: sfValue{kind: sfInteger, num: 100}},
			{key: "remaining", val: sfValue{kind: sfInteger, num: 50}},
			{key: "reset", val: sfValue{kind: sfInteger, num: 5}},
		}},
		{name: "key alone is true, with params", in: `a;p=1, b=(1 2)`, want: []sfMember{
			{key: "a", val: sfValue{kind: sfBoolean, num: 1}, params: []sfParam{{"p", sfValue{kind: sfInteger, num: 1}}}},
			{key: "b", val: sfValue{kind: sfInnerList}},
		}},
		{name: "string member is no key", in: `"default";r=50`},
		{name: "missing value", in: `remaining=`},
		{name: "trailing comma", in: `remaining=1,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSFDictionary(tt.in)
			if tt.want == nil {
				require.ErrorIs(t, err, errSyntax)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSFMemberParamLastWins(t *testing.T) {
	got, err := parseSFList(`"a";r=1;r=2`)
	require.NoError(t, err)
	require.Len(t, got, 1)
	v, ok := got[0].param("r")
	require.True(t, ok)
	assert.Equal(t, int64(2), v.num)
	_, ok = got[0].param("t")
	assert.False(t, ok)
}
