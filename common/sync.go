package common

import "fmt"

// SyncMode says what a load does with a row whose id is stored already.
type SyncMode string

// The sync modes.
const (
	// SyncInsert keeps the values first stored: a row whose id is stored
	// already is a duplicate, never stored nor sent (the default).
	SyncInsert SyncMode = "insert"
	// SyncUpsert compares a row whose id is stored with the stored
	// values: the same five values are unchanged (counted, not stored
	// again, not sent); other values are changed, stored as the
	// customer's next version, which is delivered once.
	SyncUpsert SyncMode = "upsert"
)

// ParseSyncMode returns the mode named s ("" is SyncInsert).
func ParseSyncMode(s string) (SyncMode, error) {
	switch SyncMode(s) {
	case "", SyncInsert:
		return SyncInsert, nil
	case SyncUpsert:
		return SyncUpsert, nil
	}
	return "", fmt.Errorf("%q is not a sync mode: want insert or upsert", s)
}
