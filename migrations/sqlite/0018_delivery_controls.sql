-- Delivery controls per endpoint: ordering per facial ID, the signature scheme and its ed25519
-- key, custom headers, a retry schedule, a rate limit and the pause a 429 asks for; and the
-- HTTPS-only switch per application.
ALTER TABLE endpoints ADD COLUMN ordered BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE endpoints ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT 'hmac'
    CHECK (signature_scheme IN ('hmac', 'ed25519', 'both'));
-- `whsk_` and the base64 of the key's 32-byte seed; the public key is derived from it.
ALTER TABLE endpoints ADD COLUMN ed25519_secret_key TEXT;
-- Valid until `previous_secret_expires_at`, like the previous HMAC secret.
ALTER TABLE endpoints ADD COLUMN previous_ed25519_secret_key TEXT;
-- JSON array of {"name", "value", "secret"}.
ALTER TABLE endpoints ADD COLUMN custom_headers TEXT NOT NULL DEFAULT '[]';
-- NULL: the operator's schedule; else delays like `0s,5s,5m`.
ALTER TABLE endpoints ADD COLUMN retry_schedule TEXT;
ALTER TABLE endpoints ADD COLUMN rate_per_sec BIGINT;
-- Set by a 429: no replica claims the endpoint's deliveries before it.
ALTER TABLE endpoints ADD COLUMN paused_until BIGINT;

ALTER TABLE applications ADD COLUMN https_only BOOLEAN NOT NULL DEFAULT FALSE;

-- An ordered endpoint's deliveries carry their facial ID (`order_key`) and their place among
-- that facial ID's unfinished deliveries (`order_seq`). Only the first unfinished one is
-- waiting or being sent; the rest are `held` until it is delivered or has failed for good.
ALTER TABLE deliveries ADD COLUMN order_key TEXT;
ALTER TABLE deliveries ADD COLUMN order_seq BIGINT;
CREATE INDEX deliveries_in_order ON deliveries (endpoint_id, order_key, order_seq)
    WHERE order_key IS NOT NULL AND status IN ('pending', 'retrying', 'delivering', 'held');
