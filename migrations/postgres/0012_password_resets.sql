-- A password reset link's token, stored only as its SHA-256: single use, valid 30 minutes.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_by_account ON password_resets (account_id);

-- Requests counted against a limit per scope (e.g. `reset-email:…`, `reset-ip:…`).
CREATE TABLE rate_attempts (
    id           BIGSERIAL PRIMARY KEY,
    scope        TEXT NOT NULL,
    attempted_at BIGINT NOT NULL
);
CREATE INDEX rate_attempts_by_scope ON rate_attempts (scope, attempted_at);
