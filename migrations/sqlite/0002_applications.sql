-- Applications and their webhook endpoints. An application's id is its public ID (fio…).
CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    plan           TEXT NOT NULL DEFAULT 'free'
                   CHECK (plan IN ('free', 'premium', 'business', 'enterprise')),
    api_key_hash   TEXT NOT NULL UNIQUE,
    api_key_prefix TEXT NOT NULL,
    webhook_token  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_event_at  BIGINT
);
CREATE INDEX applications_by_owner ON applications (owner_id, created_at);

CREATE TABLE endpoints (
    id                         TEXT PRIMARY KEY,
    app_id                     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    url                        TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    enabled                    BOOLEAN NOT NULL DEFAULT TRUE,
    -- NULL: every event kind, including kinds added later; else a comma-separated list.
    events                     TEXT,
    include_payload            BOOLEAN NOT NULL DEFAULT FALSE,
    timeout_secs               BIGINT NOT NULL DEFAULT 6,
    signing_secret             TEXT NOT NULL,
    previous_signing_secret    TEXT,
    previous_secret_expires_at BIGINT,
    disabled_reason            TEXT,
    created_at                 BIGINT NOT NULL
);
CREATE INDEX endpoints_by_app ON endpoints (app_id, created_at);
