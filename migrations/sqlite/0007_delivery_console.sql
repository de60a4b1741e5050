-- The delivery console: endpoint health, bulk replays, failed-delivery lookups and the
-- heartbeat each dispatcher replica writes for the operator's system view.
-- Reset by a delivered attempt, raised by each failed one; shown on the endpoint's badge.
ALTER TABLE endpoints ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
-- The replay that last queued this delivery again, so its progress can be counted.
ALTER TABLE deliveries ADD COLUMN replay_id TEXT;
CREATE INDEX deliveries_by_replay ON deliveries (replay_id) WHERE replay_id IS NOT NULL;
-- Failed deliveries are few: replays and the queue-depth gauge find them without a scan.
CREATE INDEX deliveries_failed ON deliveries (endpoint_id, created_at) WHERE status = 'failed';

CREATE TABLE dispatcher_heartbeats (
    replica_id            TEXT PRIMARY KEY,
    host                  TEXT NOT NULL,
    started_at            BIGINT NOT NULL,
    last_seen_at          BIGINT NOT NULL,
    delivered_last_minute BIGINT NOT NULL,
    attempts_last_minute  BIGINT NOT NULL
);
