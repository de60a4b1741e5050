-- The dispatcher: who holds a delivery's lease, what the last attempt said, every attempt,
-- and why an endpoint was disabled.
ALTER TABLE deliveries ADD COLUMN lease_token TEXT;
ALTER TABLE deliveries ADD COLUMN last_status_code BIGINT;
ALTER TABLE deliveries ADD COLUMN last_error_class TEXT;
ALTER TABLE deliveries ADD COLUMN last_latency_ms BIGINT;
ALTER TABLE deliveries ADD COLUMN completed_at BIGINT;
-- Claims read the oldest waiting deliveries in index order; expired leases are found by
-- time. Partial indexes replace the status index, so recording an event maintains no more
-- indexes than before.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_waiting ON deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'delivering';

ALTER TABLE endpoints ADD COLUMN disabled_at BIGINT;
-- Set by the first failed delivery after a success; an endpoint failing for too long is disabled.
ALTER TABLE endpoints ADD COLUMN failing_since BIGINT;

CREATE TABLE delivery_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt_number   BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    http_version     TEXT,
    remote_addr      TEXT,
    status_code      BIGINT,
    -- dns, connect, tls, timeout, policy or http_status; NULL when delivered.
    error_class      TEXT,
    error_message    TEXT,
    -- JSON object of the response headers, and the first 4 KiB of its body.
    response_headers TEXT,
    response_excerpt TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, attempt_number);
-- The rows one claim leased, found again without scanning; tokens are cleared when done.
CREATE INDEX deliveries_by_lease ON deliveries (lease_token) WHERE lease_token IS NOT NULL;
