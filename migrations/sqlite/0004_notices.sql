-- One-time notices for an account: a flash message, or an API key shown once. Kept outside
-- the session record so concurrent requests saving a session cannot bring a taken one back.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    app_id     TEXT,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notices_by_account ON notices (account_id, kind);
