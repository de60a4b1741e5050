-- Claims scan the waiting deliveries from this index alone (no row read per candidate), and
-- read the leased rows back by primary key, so the lease token needs no index of its own:
-- each claim and each outcome maintained it for nothing.
DROP INDEX deliveries_waiting;
CREATE INDEX deliveries_waiting ON deliveries (next_attempt_at, endpoint_id, id)
    WHERE status IN ('pending', 'retrying');
DROP INDEX deliveries_by_lease;
