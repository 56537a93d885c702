package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"goquiz/common"
	"goquiz/impl/postgres"
)

func TestWriteStatus(t *testing.T) {
	tests := []struct {
		name string
		st   postgres.Status
		want string
	}{
		{"empty store", postgres.Status{}, `records by state:
  pending           0
  in flight         0
  waiting to retry  0
  sent              0
  failed            0
  rejected          0
  total             0
oldest undelivered record: none
sent in the last minute: 0 (0.0/s)
last errors of undelivered records: none
`},
		{"records in every state", postgres.Status{
			Backlog: common.Backlog{Pending: 1200, InFlight: 32, WaitingRetry: 7, Sent: 98000, Failed: 2,
				OldestUndelivered: 3*time.Minute + 12*time.Second + 300*time.Millisecond},
			OldestCreatedAt: time.Date(2026, 11, 25, 18, 1, 2, 0, time.UTC),
			LastErrors:      []common.ErrorCount{{Error: "status 500", Records: 6}, {Error: "timeout: context deadline exceeded", Records: 3}},
			SentLastMinute:  2400,
		}, `records by state:
  pending            1200
  in flight            32
  waiting to retry      7
  sent              98000
  failed                2
  rejected              0
  total             99241
oldest undelivered record: 3m12s old (stored 2026-11-25 18:01:02 UTC)
sent in the last minute: 2400 (40.0/s)
last errors of undelivered records (records  error):
        6  status 500
        3  timeout: context deadline exceeded
failed records were given up after MAX_ATTEMPTS: run integrator retry-failed to send them again
`},
		{"records waiting with a newer version", postgres.Status{
			Backlog:         common.Backlog{Pending: 110, Sent: 900, NewerVersion: 100, OldestUndelivered: 5 * time.Second},
			OldestCreatedAt: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC),
		}, `records by state:
  pending            110
  in flight            0
  waiting to retry     0
  sent               900
  failed               0
  rejected             0
  total             1010
pending with a newer version: 100 (changed by a load in SYNC_MODE=upsert, sent again once)
oldest undelivered record: 5s old (stored 2026-12-07 06:00:00 UTC)
sent in the last minute: 0 (0.0/s)
last errors of undelivered records: none
`},
		{"a quota pause", postgres.Status{PausedUntil: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), PausedBy: "integrator-1"}, `records by state:
  pending           0
  in flight         0
  waiting to retry  0
  sent              0
  failed            0
  rejected          0
  total             0
oldest undelivered record: none
sent in the last minute: 0 (0.0/s)
the CRM's quota is spent: nothing is sent before 2026-12-07 00:00:00 UTC (noted by integrator-1)
last errors of undelivered records: none
`},
		{"rejected records", postgres.Status{
			Backlog: common.Backlog{Sent: 90, Rejected: 12},
			Rejections: postgres.Rejections{
				RejectedByStatus: []postgres.StatusCount{{Status: 400, Records: 11}, {Status: 409, Records: 1}},
				LatestRejections: []postgres.Rejection{
					{ID: 77, At: time.Date(2026, 11, 25, 18, 1, 2, 0, time.UTC), Reason: "status 409: {\"message\":\"Contact already exists.\n Existing ID: 5\"}"},
					{ID: 31, At: time.Date(2026, 11, 25, 18, 1, 1, 0, time.UTC), Reason: "status 400"},
				},
			},
		}, `records by state:
  pending             0
  in flight           0
  waiting to retry    0
  sent               90
  failed              0
  rejected           12
  total             102
oldest undelivered record: none
sent in the last minute: 0 (0.0/s)
last errors of undelivered records: none
rejected records by the CRM's status (records  status):
       11  400
        1  409
latest rejected records (id  rejected at  reason):
  77  2026-11-25 18:01:02 UTC  status 409: {"message":"Contact already exists. Existing ID: 5"}
  31  2026-11-25 18:01:01 UTC  status 400
rejected records were refused by the CRM for good (GIVE_UP_ON): once the cause is fixed, run integrator retry-failed --rejected (or --rejected=STATUS) to send them again
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeStatus(&b, tt.st)
			assert.Equal(t, tt.want, b.String())
		})
	}
}

func TestWriteRecounted(t *testing.T) {
	tests := []struct {
		name string
		r    postgres.Recounted
		want string
	}{
		{"exact", postgres.Recounted{Records: 10}, "recounted 10 records in 1.5s: the counts were exact\n"},
		{"states and counts off", postgres.Recounted{Records: 10, Pending: -4, Sent: 3, Failed: 1, Rejected: -1, Stored: 2, SentLately: 1, Errors: 3},
			"recounted 10 records in 1.5s: corrected pending -4, sent +3, failed +1, rejected -1, 2 counts by time stored, 1 count by time sent, 3 counts by last error\n"},
		{"one count off", postgres.Recounted{Records: 10, Errors: 1}, "recounted 10 records in 1.5s: corrected 1 count by last error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeRecounted(&b, tt.r, 1500*time.Millisecond)
			assert.Equal(t, tt.want, b.String())
		})
	}
}
