-- Organizations own applications; accounts belong to them with a role. Times are UTC Unix ms.
-- Every existing account gets a personal organization (its id is the account's with `org_`
-- in place of `acc_`, its name the email's local part) that owns its applications, so every key, token and secret keeps working.
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id)
);
CREATE INDEX memberships_by_account ON memberships (account_id, created_at);

INSERT INTO organizations (id, name, created_at)
    SELECT 'org_' || substr(id, 5), split_part(email, '@', 1), created_at FROM accounts;
INSERT INTO memberships (org_id, account_id, role, created_at)
    SELECT 'org_' || substr(id, 5), id, 'owner', created_at FROM accounts;

-- `owner_id` stays as the account that created the application.
ALTER TABLE applications ADD COLUMN org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE;
UPDATE applications SET org_id = 'org_' || substr(owner_id, 5);
ALTER TABLE applications ALTER COLUMN org_id SET NOT NULL;
CREATE INDEX applications_by_org ON applications (org_id, created_at);

-- An invitation's link carries a token stored only as its SHA-256; it is used once.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    revoked_at  BIGINT
);
CREATE INDEX invitations_by_org ON invitations (org_id, created_at);

-- Who did what to which object, from where; `details` holds before/after values as JSON,
-- never a secret. `actor` is the account's email (or "operator") at the time.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    ip          TEXT NOT NULL,
    details     TEXT
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, at);
CREATE INDEX audit_log_by_time ON audit_log (at);
