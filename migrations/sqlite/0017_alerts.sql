-- Alerts: when delivery breaks, an episode opens for its subject (an endpoint, the queue or
-- the dispatchers) and each alert of it is recorded once, with the mails and operational
-- webhook messages it causes, in one transaction: recorded before sent, never sent twice.

-- Each organization's thresholds for `endpoint.failing`, and its operational webhook.
ALTER TABLE organizations ADD COLUMN alert_failures BIGINT NOT NULL DEFAULT 5;
ALTER TABLE organizations ADD COLUMN alert_rate_percent BIGINT NOT NULL DEFAULT 50;
ALTER TABLE organizations ADD COLUMN alert_rate_min_attempts BIGINT NOT NULL DEFAULT 20;
ALTER TABLE organizations ADD COLUMN ops_webhook_url TEXT;
ALTER TABLE organizations ADD COLUMN ops_webhook_secret TEXT;

-- Set while an episode is open for the endpoint: its successes are then noted in
-- `last_success_at`, which is how recovery is seen (re-enabling resets the failure count).
ALTER TABLE endpoints ADD COLUMN alerting BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE endpoints ADD COLUMN last_success_at BIGINT;
-- `delivery.exhausted`: the newest failed-for-good delivery already counted, and when the
-- last such alert was sent (at most one an hour per endpoint).
ALTER TABLE endpoints ADD COLUMN exhausted_counted_until BIGINT;
ALTER TABLE endpoints ADD COLUMN exhausted_alert_at BIGINT;
-- Counted since that alert, for the next one (sent once the hour has passed).
ALTER TABLE endpoints ADD COLUMN exhausted_pending BIGINT NOT NULL DEFAULT 0;

-- The bell counts an organization's alerts raised after the account last opened its alerts.
CREATE TABLE alert_reads (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, org_id)
);

-- `subject` is an endpoint's id, `queue` or `dispatcher`; at most one open episode each.
-- `org_id` is NULL for the operator's episodes (queue, dispatcher).
CREATE TABLE alert_episodes (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    subject             TEXT NOT NULL,
    app_id              TEXT REFERENCES applications (id) ON DELETE CASCADE,
    endpoint_id         TEXT REFERENCES endpoints (id) ON DELETE CASCADE,
    opened_at           BIGINT NOT NULL,
    closed_at           BIGINT,
    deliveries_affected BIGINT NOT NULL DEFAULT 0,
    -- Opened by the success-rate rule, which only a dispatching process can judge: only
    -- such a process, seeing the rate back above the threshold, closes it.
    by_rate             BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX alert_episodes_open ON alert_episodes (subject) WHERE closed_at IS NULL;

-- `dedupe_key` makes each alert once: `{episode}:{kind}`, or for a disable the endpoint and
-- its moment, or for exhausted deliveries the newest one counted.
CREATE TABLE alerts (
    id                  TEXT PRIMARY KEY,
    dedupe_key          TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL,
    org_id              TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    episode_id          TEXT REFERENCES alert_episodes (id) ON DELETE SET NULL,
    app_id              TEXT REFERENCES applications (id) ON DELETE SET NULL,
    endpoint_id         TEXT REFERENCES endpoints (id) ON DELETE SET NULL,
    endpoint_url        TEXT,
    message             TEXT NOT NULL,
    deliveries_affected BIGINT NOT NULL DEFAULT 0,
    raised_at           BIGINT NOT NULL
);
CREATE INDEX alerts_by_org ON alerts (org_id, raised_at);
CREATE INDEX alerts_by_time ON alerts (raised_at);
CREATE INDEX alerts_by_endpoint ON alerts (endpoint_id, kind, raised_at);

-- The alert kinds each account wants mailed.
CREATE TABLE alert_mail_prefs (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- The operational webhook's messages: one per alert (its id is the alert's, the
-- `webhook-id`), the body fixed when raised, signed when sent.
CREATE TABLE ops_deliveries (
    id               TEXT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    completed_at     BIGINT
);
CREATE INDEX ops_deliveries_due ON ops_deliveries (next_attempt_at) WHERE status = 'pending';

-- Deliveries that failed for good, by when: found for `delivery.exhausted` without a scan.
CREATE INDEX deliveries_exhausted ON deliveries (completed_at) WHERE status = 'failed';
