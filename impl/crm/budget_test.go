package crm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/common"
)

func TestParseBudget(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	known := func(n int, reset time.Duration) common.Budget {
		return common.Budget{Known: true, Remaining: n, Reset: reset}
	}
	tests := []struct {
		name   string
		header map[string][]string
		want   common.Budget
	}{
		{name: "none", header: map[string][]string{"Retry-After": {"1"}}},

		// HubSpot's window: its rate, one short, whatever remains.
		{name: "hubspot", header: map[string][]string{"X-Hubspot-Ratelimit-Max": {"190"},
			"X-Hubspot-Ratelimit-Remaining": {"0"}, "X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}},
			want: known(189, 10*time.Second)},
		{name: "hubspot without its interval", header: map[string][]string{"X-Hubspot-Ratelimit-Max": {"190"}}},
		{name: "hubspot, a window of one", header: map[string][]string{"X-Hubspot-Ratelimit-Max": {"1"},
			"X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}}},
		{name: "hubspot, a malformed max", header: map[string][]string{"X-Hubspot-Ratelimit-Max": {"-5"},
			"X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}}},
		{name: "x-ratelimit wins over hubspot", header: map[string][]string{"X-Hubspot-Ratelimit-Max": {"190"},
			"X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}, "X-Ratelimit-Remaining": {"5"}, "X-Ratelimit-Reset": {"1"}},
			want: known(5, time.Second)},

		// RateLimit, current drafts.
		{name: "service limit", header: map[string][]string{"RateLimit": {`"default";r=50;t=30`}},
			want: known(50, 30*time.Second)},
		{name: "service limit with policy", header: map[string][]string{
			"RateLimit": {`"default";r=50;t=30`}, "RateLimit-Policy": {`"default";q=100;w=60`}},
			want: known(50, 30*time.Second)},
		{name: "token name and comment params", header: map[string][]string{"RateLimit": {`default;r=0;t=5;pk=:QXBw:;acme-x="y"`}},
			want: known(0, 5*time.Second)},
		{name: "window from the policy of the same name", header: map[string][]string{
			"RateLimit": {`"hour";r=9`}, "RateLimit-Policy": {`"day";q=1000;w=86400, "hour";q=100;w=3600`}},
			want: known(9, time.Hour)},
		{name: "no window anywhere", header: map[string][]string{"RateLimit": {`"default";r=999`}}},
		{name: "lowest rate of several", header: map[string][]string{"RateLimit": {`"second";r=10;t=1, "day";r=100;t=36000`}},
			want: known(100, 10*time.Hour)},
		{name: "lowest rate first, though not the longest window", header: map[string][]string{"RateLimit": {`"a";r=1;t=10, "b";r=1000;t=60`}},
			want: known(1, 10*time.Second)},
		{name: "split over two lines", header: map[string][]string{"RateLimit": {`"second";r=10;t=1`, `"minute";r=5;t=60`}},
			want: known(5, time.Minute)},
		{name: "item without window skipped", header: map[string][]string{"RateLimit": {`"a";r=1, "b";r=7;t=2`}},
			want: known(7, 2*time.Second)},
		{name: "window over: renewed now", header: map[string][]string{"RateLimit": {`"a";r=0;t=0`}},
			want: known(0, 0)},
		{name: "malformed policy ignored", header: map[string][]string{
			"RateLimit": {`"a";r=3;t=4`}, "RateLimit-Policy": {`"a";w=60`}},
			want: known(3, 4*time.Second)},
		{name: "policy without q: no window from it", header: map[string][]string{
			"RateLimit": {`"a";r=3`}, "RateLimit-Policy": {`"a";w=60`}}},
		{name: "policy with a zero window: no window from it", header: map[string][]string{
			"RateLimit": {`"a";r=3`}, "RateLimit-Policy": {`"a";q=10;w=0`}}},
		{name: "one bad policy spoils the policy field", header: map[string][]string{
			"RateLimit": {`"a";r=3`}, "RateLimit-Policy": {`"a";q=10;w=60, 5;q=1;w=1`}}},
		{name: "policy split over two lines", header: map[string][]string{
			"RateLimit": {`"b";r=3`}, "RateLimit-Policy": {`"a";q=10;w=60`, `"b";q=5;w=5`}},
			want: known(3, 5*time.Second)},
		{name: "negative t spoils the field", header: map[string][]string{"RateLimit": {`"a";r=1;t=-5, "b";r=2;t=2`}}},
		{name: "missing r", header: map[string][]string{"RateLimit": {`"default";t=30`}}},
		{name: "negative r", header: map[string][]string{"RateLimit": {`"default";r=-1;t=30`}}},
		{name: "decimal t", header: map[string][]string{"RateLimit": {`"default";r=1;t=1.5`}}},
		{name: "string r", header: map[string][]string{"RateLimit": {`"default";r="5";t=30`}}},
		{name: "integer as name", header: map[string][]string{"RateLimit": {`5;r=1;t=1`}}},
		{name: "one bad item spoils the field", header: map[string][]string{"RateLimit": {`"a";r=1;t=1, "b";r=x;t=1`}}},
		{name: "syntax error", header: map[string][]string{"RateLimit": {`"default";r=50;t=30,`}}},
		// Structured-field syntax (RFC 9651, parsed by httpsfv): the
		// checks the hand-written parser's own tests made that matter here.
		{name: "repeated param: the last wins", header: map[string][]string{"RateLimit": {`"a";r=1;r=2;t=1`}},
			want: known(2, time.Second)},
		{name: "white space around members", header: map[string][]string{"RateLimit": {`"a";r=9;t=9 ,	"b";r=3;t=6 `}},
			want: known(3, 6*time.Second)},
		{name: "star keys and every bare item type in params", header: map[string][]string{"RateLimit": {
			`*tok;r=4;t=2;*k=1;k*.-_9=2.5;s="x\"y";f;b=?0;d=@1700000000;ds=%"caf%c3%a9"`}},
			want: known(4, 2*time.Second)},
		{name: "token name with every tchar", header: map[string][]string{"RateLimit": {"a!#$%&'*+-.^_`|~:/z;r=1;t=1"}},
			want: known(1, time.Second)},
		{name: "15-digit count", header: map[string][]string{"RateLimit": {`"a";r=999999999999999;t=1`}},
			want: known(999999999999999, time.Second)},
		{name: "16-digit count spoils the field", header: map[string][]string{"RateLimit": {`"a";r=1000000000000000;t=1`}}},
		{name: "inner list spoils the field", header: map[string][]string{"RateLimit": {`("a" "b");r=1;t=1`}}},
		{name: "upper case param key", header: map[string][]string{"RateLimit": {`"a";R=1;t=1`}}},
		{name: "missing comma", header: map[string][]string{"RateLimit": {`"a";r=1;t=1 "b";r=1;t=1`}}},
		{name: "double comma", header: map[string][]string{"RateLimit": {`"a";r=1;t=1,,"b";r=1;t=1`}}},
		{name: "unterminated string", header: map[string][]string{"RateLimit": {`"a;r=1;t=1`}}},
		{name: "bad escape in name", header: map[string][]string{"RateLimit": {`"a\nb";r=1;t=1`}}},
		{name: "non-ascii in name", header: map[string][]string{"RateLimit": {`"é";r=1;t=1`}}},
		{name: "decimal with 4 fraction digits", header: map[string][]string{"RateLimit": {`"a";r=1;t=1;x=1.2345`}}},
		{name: "bad boolean", header: map[string][]string{"RateLimit": {`"a";r=1;t=1;x=?2`}}},
		{name: "bad byte sequence", header: map[string][]string{"RateLimit": {`"a";r=1;t=1;pk=:a*b:`}}},
		{name: "display string with upper hex", header: map[string][]string{"RateLimit": {`"a";r=1;t=1;x=%"caf%C3%A9"`}}},
		{name: "malformed RateLimit falls back to X- pair", header: map[string][]string{
			"RateLimit": {`garbage=`}, "X-RateLimit-Remaining": {"4"}, "X-RateLimit-Reset": {"2"}},
			want: known(4, 2*time.Second)},
		{name: "RateLimit preferred to X- pair", header: map[string][]string{
			"RateLimit": {`"a";r=1;t=1`}, "X-RateLimit-Remaining": {"4"}, "X-RateLimit-Reset": {"2"}},
			want: known(1, time.Second)},

		// RateLimit, draft -07.
		{name: "draft 7 dictionary", header: map[string][]string{"RateLimit": {`limit=100, remaining=50, reset=5`}},
			want: known(50, 5*time.Second)},
		{name: "draft 7 without remaining", header: map[string][]string{"RateLimit": {`limit=100, reset=5`}}},
		{name: "draft 7 limit not an integer", header: map[string][]string{"RateLimit": {`limit=many, remaining=1, reset=5`}}},
		{name: "draft 7 with a key alone and an inner list beside", header: map[string][]string{"RateLimit": {`limit=100, remaining=2, reset=3, burst;p=1, w=(1 2)`}},
			want: known(2, 3*time.Second)},
		{name: "draft 7 repeated key: the last wins", header: map[string][]string{"RateLimit": {`remaining=1, reset=5, remaining=4`}},
			want: known(4, 5*time.Second)},
		{name: "draft 7 key alone is no count", header: map[string][]string{"RateLimit": {`remaining, reset=5`}}},
		{name: "draft 7 trailing comma", header: map[string][]string{"RateLimit": {`remaining=1, reset=5,`}}},
		{name: "draft 7 missing value", header: map[string][]string{"RateLimit": {`remaining=, reset=5`}}},
		{name: "draft 7 negative reset", header: map[string][]string{"RateLimit": {`limit=100, remaining=1, reset=-5`}}},

		// Counter pairs.
		{name: "draft 6 fields", header: map[string][]string{"RateLimit-Remaining": {"7"}, "RateLimit-Reset": {"9"}, "RateLimit-Limit": {"10"}},
			want: known(7, 9*time.Second)},
		{name: "X- pair in seconds", header: map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {"60"}},
			want: known(0, time.Minute)},
		{name: "X- pair, lower case names", header: map[string][]string{"x-ratelimit-remaining": {"3"}, "x-ratelimit-reset": {"1"}},
			want: known(3, time.Second)},
		{name: "X- pair as a Unix time", header: map[string][]string{"X-RateLimit-Remaining": {"4999"}, "X-RateLimit-Reset": {epoch(42 * time.Second)}},
			want: known(4999, 42*time.Second)},
		{name: "10⁹ is a Unix time", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"1000000000"}},
			want: known(1, 0)},
		{name: "Unix time in the past", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {epoch(-time.Hour)}},
			want: known(1, 0)},
		{name: "month-long window in seconds", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"2592000"}},
			want: known(1, 30*24*time.Hour)},
		{name: "fractional seconds", header: map[string][]string{"X-RateLimit-Remaining": {"2"}, "X-RateLimit-Reset": {"1.25"}},
			want: known(2, 1250*time.Millisecond)},
		{name: "fractional Unix time", header: map[string][]string{"X-RateLimit-Remaining": {"2"}, "X-RateLimit-Reset": {epoch(3*time.Second) + ".5"}},
			want: known(2, 3500*time.Millisecond)},
		{name: "X-Rate-Limit spelling", header: map[string][]string{"X-Rate-Limit-Remaining": {"5"}, "X-Rate-Limit-Reset": {"6"}},
			want: known(5, 6*time.Second)},
		{name: "surrounding space", header: map[string][]string{"X-RateLimit-Remaining": {" 5 "}, "X-RateLimit-Reset": {" 6"}},
			want: known(5, 6*time.Second)},
		{name: "remaining without reset", header: map[string][]string{"X-RateLimit-Remaining": {"5"}}},
		{name: "reset without remaining", header: map[string][]string{"X-RateLimit-Reset": {"5"}}},
		{name: "negative remaining", header: map[string][]string{"X-RateLimit-Remaining": {"-1"}, "X-RateLimit-Reset": {"5"}}},
		{name: "decimal remaining", header: map[string][]string{"X-RateLimit-Remaining": {"1.5"}, "X-RateLimit-Reset": {"5"}}},
		{name: "empty remaining", header: map[string][]string{"X-RateLimit-Remaining": {""}, "X-RateLimit-Reset": {"5"}}},
		{name: "remaining overflows", header: map[string][]string{"X-RateLimit-Remaining": {"99999999999999999999"}, "X-RateLimit-Reset": {"5"}}},
		{name: "reset as a date", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"Wed, 21 Oct 2015 07:28:00 GMT"}}},
		{name: "reset in milliseconds", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"1750000000000"}}},
		{name: "reset with a trailing dot", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"5."}}},
		{name: "reset with a sign", header: map[string][]string{"X-RateLimit-Remaining": {"1"}, "X-RateLimit-Reset": {"+5"}}},
		{name: "repeated remaining", header: map[string][]string{"X-RateLimit-Remaining": {"1", "2"}, "X-RateLimit-Reset": {"5"}}},
		{name: "malformed X- pair falls back to X-Rate-Limit", header: map[string][]string{
			"X-RateLimit-Remaining": {"x"}, "X-RateLimit-Reset": {"5"}, "X-Rate-Limit-Remaining": {"8"}, "X-Rate-Limit-Reset": {"9"}},
			want: known(8, 9*time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.header {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			assert.Equal(t, tt.want, parseBudget(h, now))
		})
	}
}

// TestPublishReturnsBudget checks the budget comes back with the answer,
// accepted or refused, and is zero when the CRM announces none.
func TestPublishReturnsBudget(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		want    common.Budget
		wantErr string
	}{
		{name: "200 with RateLimit", status: http.StatusOK,
			header: map[string]string{"RateLimit": `"default";r=49;t=30`, "RateLimit-Policy": `"default";q=100;w=60`},
			want:   common.Budget{Known: true, Remaining: 49, Reset: 30 * time.Second}},
		{name: "429 with X-RateLimit", status: http.StatusTooManyRequests,
			header:  map[string]string{"Retry-After": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"},
			want:    common.Budget{Known: true, Remaining: 0, Reset: 2 * time.Second},
			wantErr: "status 429"},
		{name: "200 without", status: http.StatusOK},
		{name: "500 with malformed", status: http.StatusInternalServerError,
			header: map[string]string{"RateLimit": `"default";r=lots`}, wantErr: "status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, Options{Timeout: 5 * time.Second})
			got, err := c.Publish(context.Background(), common.Customer{ID: 1})
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				assert.Equal(t, tt.wantErr, publishError(t, err).Reason())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
