-- Readiness writes one row here to prove the database takes writes (a full disk or a
-- read-only replica answers reads but refuses writes).
CREATE TABLE writer_probe (
    id         INTEGER PRIMARY KEY,
    written_at BIGINT NOT NULL
);

-- Sign-up attempts per client IP, for throttling self-service sign-up.
CREATE TABLE signup_attempts (
    id           BIGSERIAL PRIMARY KEY,
    ip           TEXT NOT NULL,
    attempted_at BIGINT NOT NULL
);
CREATE INDEX signup_attempts_by_ip ON signup_attempts (ip, attempted_at);

-- Sessions carry the epoch they began in; changing the password moves the account to a new
-- epoch, which ends every other session.
ALTER TABLE accounts ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
