-- Claims take due rows in creation order among equals (ids are time-ordered): rows created
-- together share pages, so a claim and its outcomes touch few pages. Ordering by endpoint
-- first leased one endpoint's rows, every one on a page of its own once endpoints were many.
DROP INDEX deliveries_waiting;
CREATE INDEX deliveries_waiting ON deliveries (next_attempt_at, id, endpoint_id)
    WHERE status IN ('pending', 'retrying');
