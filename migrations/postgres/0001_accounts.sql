-- Accounts and sign-in throttling. Times are UTC Unix milliseconds.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_operator   BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE login_failures (
    id        BIGSERIAL PRIMARY KEY,
    email     TEXT NOT NULL,
    ip        TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_by_ip ON login_failures (ip, failed_at);
CREATE INDEX login_failures_by_time ON login_failures (failed_at);
