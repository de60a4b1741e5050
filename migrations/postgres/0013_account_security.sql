-- Email verification, two-factor sign-in, and the account's sessions. Times are UTC Unix ms.

-- Accounts that existed before verification was introduced keep working: they count as verified.
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;
UPDATE accounts SET email_verified_at = created_at;
-- The TOTP secret (base32) once confirmed, the one being enrolled, and the last time step a code
-- was accepted for (a code is accepted once).
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;

-- Single-use recovery codes, stored only as their SHA-256.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- An email verification link's token (SHA-256), for the address it was sent to.
CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX email_verifications_by_account ON email_verifications (account_id);

-- One row per signed-in console session, so an owner can see and end them; the session
-- itself (tower-sessions) holds this row's id.
CREATE TABLE account_sessions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_agent   TEXT NOT NULL,
    ip           TEXT NOT NULL,
    signed_in_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX account_sessions_by_account ON account_sessions (account_id, last_seen_at);

-- The addresses an account signed in from, and when last: a new one is mailed about.
CREATE TABLE sign_in_ips (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ip           TEXT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, ip)
);
