package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"goquiz/common"
)

var _ common.ProbeClaimer = (*Queue)(nil)

// probeFunction is goquiz_claim_probe(owner, tried, lease in
// milliseconds): it claims, as a claim of owner of its own, the latest due
// pending record listed in no claim among the common.ProbeWindow latest
// due, one that failed before (attempts > 0) when tried is true, one
// never tried otherwise, and returns the claim's id with the record. It
// walks the due index backwards from now, so it costs one short scan
// however long the queue, and locks the record it picks as
// goquiz_claim_versions does (see claimFunction), under the same shared
// claim lock: a record is never listed by two claims. It takes no lapsed
// claim over: the next claim does.
var probeFunction = `CREATE OR REPLACE FUNCTION goquiz_claim_probe(claimer text, tried boolean, lease_ms bigint)
RETURNS TABLE (claim bigint, id bigint, first_name text, last_name text, email text, phone text, version integer, attempts integer)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $f$
#variable_conflict use_column
DECLARE
	p record;
	made bigint;
BEGIN
	PERFORM pg_advisory_xact_lock_shared(` + claimLock + `);
	SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.version, c.attempts, c.next_attempt_at
	INTO p
	FROM customers c
	WHERE c.id = ANY(ARRAY(
		SELECT n.id FROM customers n
		WHERE n.state = 'pending' AND n.next_attempt_at <= now()
		ORDER BY n.next_attempt_at DESC
		LIMIT ` + probeWindow + `))
	  AND c.state = 'pending' AND c.next_attempt_at <= now() AND (c.attempts > 0) = tried
	  AND c.id NOT IN (SELECT unnest(k.ids) FROM claims k)
	ORDER BY c.next_attempt_at DESC, c.id DESC
	LIMIT 1
	FOR NO KEY UPDATE OF c SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	INSERT INTO claims (owner, lease_until, ids)
	SELECT claimer, now() + lease_ms * interval '1 millisecond', ARRAY[p.id]
	WHERE p.id NOT IN (SELECT unnest(k.ids) FROM claims k)
	RETURNING claims.id INTO made;
	IF made IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY SELECT made, p.id, p.first_name, p.last_name, p.email, p.phone, p.version, p.attempts;
END $f$`

// probeWindow is common.ProbeWindow as SQL text.
var probeWindow = strconv.Itoa(common.ProbeWindow)

// ClaimProbe reserves the record of a probe of a CRM that looks down, as
// a claim of its own (see probeFunction); the claim is empty when no
// record fits.
func (q *Queue) ClaimProbe(ctx context.Context, tried bool, lease time.Duration) (common.Claim, error) {
	start := time.Now()
	rows, err := q.db.db.QueryContext(ctx, `SELECT * FROM goquiz_claim_probe($1, $2, $3)`, q.owner, tried, millis(lease))
	if err != nil {
		return common.Claim{}, fmt.Errorf("claim probe: %w", err)
	}
	defer rows.Close()
	c := common.Claim{Expires: start.Add(lease)}
	for rows.Next() {
		var d common.ClaimedRecord
		if err := rows.Scan(&c.ID, &d.ID, &d.FirstName, &d.LastName, &d.Email, &d.Phone, &d.Version, &d.Attempts); err != nil {
			return common.Claim{}, fmt.Errorf("claim probe: %w", err)
		}
		c.Records = append(c.Records, d)
	}
	if err := rows.Err(); err != nil {
		return common.Claim{}, fmt.Errorf("claim probe: %w", err)
	}
	return c, nil
}
