-- Organization API tokens for the management API: only a token's SHA-256 is stored, with its
-- first characters to recognise it by. A token acts with its own role in its organization.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_by    TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    last_used_ip  TEXT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_by_org ON api_tokens (org_id, created_at);

-- The first reply to each Idempotency-Key a token sent to a management POST, for 24 hours.
-- `status_code` 0 marks a request still running under that key.
CREATE TABLE token_replies (
    token_id     TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
