package postgres

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"goquiz/common"
)

var _ common.VersionChecker = (*Queue)(nil)

// Replaced returns, of the records listed (ids[i] claimed in
// versions[i]), the ids of those whose stored version is newer: one
// primary-key lookup each (about 3 ms for 2,000 ids in order).
func (q *Queue) Replaced(ctx context.Context, ids []int64, versions []int) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	vs := make(pq.Int64Array, len(versions))
	for i, v := range versions {
		vs[i] = int64(v)
	}
	// A lookup per id, whatever the plan the join would get: with
	// thousands of ids a join walked the whole primary key (35 ms for
	// 2,000 ids among 200,000 customers, against 3 ms).
	rows, err := q.db.db.QueryContext(ctx, `SELECT u.id FROM unnest($1::bigint[], $2::bigint[]) AS u(id, version),
		LATERAL (SELECT 1 FROM customers c WHERE c.id = u.id AND c.version > u.version LIMIT 1) newer`, pq.Int64Array(ids), vs)
	if err != nil {
		return nil, fmt.Errorf("look for newer versions of %d claimed records: %w", len(ids), err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("look for newer versions of %d claimed records: %w", len(ids), err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look for newer versions of %d claimed records: %w", len(ids), err)
	}
	return out, nil
}
