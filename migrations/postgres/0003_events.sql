-- The facial-ID registry, events, their delivery outbox, and idempotent replies.
CREATE TABLE facial_ids (
    app_id       TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    facial_id    TEXT NOT NULL,
    payload      TEXT,
    gender       TEXT,
    age          BIGINT,
    pincode_hash TEXT,
    enrolled_at  BIGINT NOT NULL,
    last_auth_at BIGINT,
    PRIMARY KEY (app_id, facial_id)
);
CREATE INDEX facial_ids_by_time ON facial_ids (app_id, enrolled_at);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_name  TEXT NOT NULL,
    facial_id   TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    gender      TEXT,
    age         BIGINT,
    -- The linked payload as it was when the event happened (JSON text).
    payload     TEXT,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX events_by_app ON events (app_id, occurred_at);

-- The outbox: one row per event and subscribed endpoint, written with the event.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    app_id          TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_event ON deliveries (event_id);

CREATE TABLE idempotent_replies (
    app_id       TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (app_id, idem_key)
);
