//! The delivery queue as the dispatcher sees it: claim due deliveries under a lease, give
//! leases back, take over expired ones, purge old history. Never holds a transaction
//! across an HTTP call: a claim commits at once and the outcome is written afterwards.

use super::{new_id, now_ms, on_db, Db, Store, StoreError};

/// A leased delivery with everything needed to send it, read when it was claimed (send time).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ClaimedDelivery {
    pub delivery_id: String,
    pub lease_token: String,
    pub event_id: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub event_name: String,
    pub facial_id: String,
    pub client_ip: String,
    pub gender: Option<String>,
    pub age: Option<i64>,
    /// The linked payload (JSON text) as it was when the event happened.
    pub payload: Option<String>,
    pub occurred_at: i64,
    pub app_id: String,
    pub plan: String,
    pub webhook_token: String,
    pub endpoint_id: String,
    pub url: String,
    pub timeout_secs: i64,
    pub include_payload: bool,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
}

/// Rows a claim may lease: new or retrying, and due. Matches the partial index
/// `deliveries_waiting`, so the oldest due rows are read in index order.
const DUE: &str = "d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1";

/// Candidates for a claim, oldest first, skipping disabled endpoints and the claimer's
/// saturated endpoints ($8, a JSON array), and taking from each endpoint only what fits under
/// the cap ($2) next to the deliveries the claimer already holds there ($7, a JSON object of
/// counts). Each comes with the rounds of attempts it may wait through before its own, at $9
/// attempts on the wire per endpoint: its lease covers that many timeouts. The scan is bounded
/// ($3) so a deep backlog costs the same as a short one. The text never changes with the
/// inputs, so each connection prepares it once.
fn candidates_sql(db: &Db) -> String {
    let (busy, saturated) = match db {
        Db::Sqlite(_) => (
            "SELECT key AS endpoint_id, value AS busy FROM json_each($7)",
            "SELECT value FROM json_each($8)",
        ),
        Db::Postgres(_) => (
            "SELECT key AS endpoint_id, value::bigint AS busy FROM jsonb_each_text($7::jsonb)",
            "SELECT jsonb_array_elements_text($8::jsonb)",
        ),
    };
    format!(
        "SELECT c.id, (c.place + COALESCE(b.busy, 0) + $9 - 1) / $9 AS rounds FROM ( \
           SELECT s.id, s.endpoint_id, s.next_attempt_at, \
                  ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at, s.id) AS place \
           FROM (SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
                 JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
                 WHERE {DUE} AND d.endpoint_id NOT IN ({saturated}) \
                 ORDER BY d.next_attempt_at LIMIT $3) s \
         ) c LEFT JOIN ({busy}) b ON b.endpoint_id = c.endpoint_id \
         WHERE c.place + COALESCE(b.busy, 0) <= $2 \
         ORDER BY c.next_attempt_at LIMIT $4"
    )
}

/// Each field of `ClaimedDelivery` and the column it is read from.
const CLAIMED_FIELDS: [(&str, &str); 21] = [
    ("delivery_id", "d.id"),
    ("lease_token", "d.lease_token"),
    ("event_id", "d.event_id"),
    ("attempts", "d.attempts"),
    ("event_name", "ev.event_name"),
    ("facial_id", "ev.facial_id"),
    ("client_ip", "ev.client_ip"),
    ("gender", "ev.gender"),
    ("age", "ev.age"),
    ("payload", "ev.payload"),
    ("occurred_at", "ev.occurred_at"),
    ("app_id", "a.id"),
    ("plan", "a.plan"),
    ("webhook_token", "a.webhook_token"),
    ("endpoint_id", "e.id"),
    ("url", "e.url"),
    ("timeout_secs", "e.timeout_secs"),
    ("include_payload", "e.include_payload"),
    ("signing_secret", "e.signing_secret"),
    ("previous_signing_secret", "e.previous_signing_secret"),
    ("previous_secret_expires_at", "e.previous_secret_expires_at"),
];

/// The select list of a `ClaimedDelivery` read from `deliveries d`, `events ev`,
/// `endpoints e` and `applications a`.
pub(super) fn claimed_columns() -> String {
    CLAIMED_FIELDS
        .iter()
        .map(|(field, column)| format!("{column} AS {field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) const CLAIMED_JOINS: &str = "JOIN events ev ON ev.id = d.event_id \
     JOIN endpoints e ON e.id = d.endpoint_id JOIN applications a ON a.id = d.app_id";

/// Everything needed to send the deliveries leased under one token ($1).
pub(super) fn leased_sql() -> String {
    format!(
        "SELECT {} FROM deliveries d {CLAIMED_JOINS} \
         WHERE d.lease_token = $1 ORDER BY d.next_attempt_at",
        claimed_columns()
    )
}

/// The same as `leased_sql`, as one JSON array in one row. SQLite hands each result row from
/// its thread to the runtime separately, waking a task per row; one row costs one hand-over.
fn leased_json_sql() -> String {
    let pairs: Vec<String> = CLAIMED_FIELDS
        .iter()
        .map(|(field, _)| match *field {
            // Stored as 0 or 1; the struct wants a JSON boolean.
            "include_payload" => {
                format!("'{field}', json(CASE WHEN l.{field} THEN 'true' ELSE 'false' END)")
            }
            _ => format!("'{field}', l.{field}"),
        })
        .collect();
    format!(
        "SELECT COALESCE(json_group_array(json_object({})), '[]') FROM ({}) l",
        pairs.join(", "),
        leased_sql()
    )
}

/// The timeout, in seconds, of the endpoint of the `deliveries` row being updated.
const ENDPOINT_TIMEOUT: &str =
    "(SELECT e.timeout_secs FROM endpoints e WHERE e.id = deliveries.endpoint_id)";

/// How many due rows a claim of `limit` looks at: enough to skip over endpoints at their cap.
fn claim_scan(limit: i64) -> i64 {
    (limit * 2).clamp(64, 1000)
}

impl Store {
    /// Leases up to `limit` due deliveries, keeping the deliveries the caller holds per
    /// endpoint (`held`: endpoint id and count) at most `per_endpoint`. Each lease lasts as
    /// many of its endpoint's timeouts as rounds of `on_wire_per_endpoint` attempts it may
    /// wait through (a delivery held deep behind others waits longer), plus
    /// `lease_margin_ms`. On PostgreSQL, replicas skip rows another claim has locked, so a
    /// delivery is never leased twice; SQLite has one writer, which gives the same guarantee.
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        per_endpoint: i64,
        held: &[(String, i64)],
        on_wire_per_endpoint: i64,
        lease_margin_ms: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = now_ms();
        let token = new_id("lease");
        let busy: serde_json::Map<String, serde_json::Value> = held
            .iter()
            .map(|(id, count)| (id.clone(), (*count).into()))
            .collect();
        let saturated: Vec<&str> = held
            .iter()
            .filter(|(_, count)| *count >= per_endpoint)
            .map(|(id, _)| id.as_str())
            .collect();
        let (busy, saturated) = (
            serde_json::Value::Object(busy).to_string(),
            serde_json::to_string(&saturated).unwrap_or_else(|_| "[]".to_owned()),
        );
        let candidates = candidates_sql(self.queue_db());
        macro_rules! bind_claim {
            ($query:expr) => {
                $query
                    .bind(now)
                    .bind(per_endpoint)
                    .bind(claim_scan(limit))
                    .bind(limit)
                    .bind(now + lease_margin_ms)
                    .bind(&token)
                    .bind(&busy)
                    .bind(&saturated)
                    .bind(on_wire_per_endpoint)
            };
        }
        let claimed = match self.queue_db() {
            Db::Postgres(pool) => {
                // Skips rows another replica's claim has locked, and leases and reads back in
                // one round trip. The outer query sees the rows as they were before the
                // update, so the leased values come from RETURNING.
                let claim_and_read = format!(
                    "WITH k AS ({candidates}), \
                     claimable AS (SELECT d.id, k.rounds FROM deliveries d JOIN k ON k.id = d.id \
                                   WHERE {DUE} FOR UPDATE OF d SKIP LOCKED), \
                     d AS (UPDATE deliveries SET status = 'delivering', lease_token = $6, \
                           lease_until = $5 + c.rounds * 1000 * {ENDPOINT_TIMEOUT} \
                           FROM claimable c WHERE deliveries.id = c.id \
                           RETURNING deliveries.id, deliveries.lease_token, deliveries.event_id, \
                           deliveries.attempts, deliveries.endpoint_id, deliveries.app_id, \
                           deliveries.next_attempt_at) \
                     SELECT {} FROM d {CLAIMED_JOINS} ORDER BY d.next_attempt_at",
                    claimed_columns()
                );
                bind_claim!(sqlx::query_as::<_, ClaimedDelivery>(&claim_and_read))
                    .fetch_all(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                // One writer, so nothing to lock: the candidates are updated in place (the
                // same lease through a join with them cost a sixth of the claim rate), then
                // read back in one row.
                let update = format!(
                    "WITH k AS ({candidates}) \
                     UPDATE deliveries SET status = 'delivering', lease_token = $6, \
                     lease_until = $5 + (SELECT k.rounds FROM k WHERE k.id = deliveries.id) \
                                   * 1000 * {ENDPOINT_TIMEOUT} \
                     WHERE id IN (SELECT id FROM k)"
                );
                let leased = bind_claim!(sqlx::query(&update))
                    .execute(pool)
                    .await?
                    .rows_affected();
                if leased == 0 {
                    return Ok(Vec::new());
                }
                let json: String = sqlx::query_scalar(&leased_json_sql())
                    .bind(&token)
                    .fetch_one(pool)
                    .await?;
                serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(err.into()))?
            }
        };
        Ok(claimed)
    }

    /// Gives leased deliveries back untouched, e.g. when shutting down mid-attempt.
    pub async fn release_leases(&self, lease_tokens: &[String]) -> Result<u64, StoreError> {
        let mut released = 0;
        for token in lease_tokens {
            released += on_db!(self.queue_db(), |pool| {
                sqlx::query(
                    "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, \
                     status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END \
                     WHERE lease_token = $1 AND status = 'delivering'",
                )
                .bind(token)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })?;
        }
        Ok(released)
    }

    /// Puts deliveries whose lease ran out (their worker crashed or hung) back in the queue,
    /// due at once. Their late outcome, if it ever comes, no longer matches the lease.
    pub async fn reclaim_expired_leases(&self) -> Result<u64, StoreError> {
        let reclaimed = on_db!(self.queue_db(), |pool| {
            sqlx::query(
                "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, \
                 status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END \
                 WHERE status = 'delivering' AND lease_until < $1",
            )
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(reclaimed)
    }

    /// When the next delivery becomes due (or a lease expires), if any is waiting.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let next: Option<i64> = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT MIN(t) FROM ( \
                   SELECT MIN(d.next_attempt_at) AS t FROM deliveries d \
                   JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
                   WHERE d.status IN ('pending', 'retrying') \
                   UNION ALL \
                   SELECT MIN(lease_until) AS t FROM deliveries WHERE status = 'delivering') due",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(next)
    }

    /// Deletes up to `batch` events that happened before `cutoff_ms`, with their deliveries
    /// and attempts; returns how many went, so the caller can repeat until none do.
    pub async fn purge_events_before(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        let purged = on_db!(self.db(), |pool| {
            sqlx::query(
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)",
            )
            .bind(cutoff_ms)
            .bind(batch)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(purged)
    }
}

/// Wakes a dispatcher when any replica commits deliveries (PostgreSQL `LISTEN`).
pub struct DeliveryListener(sqlx::postgres::PgListener);

impl DeliveryListener {
    /// Waits for the next announcement; reconnects by itself after a lost connection.
    pub async fn announced(&mut self) -> Result<(), StoreError> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Store {
    /// A listener for deliveries committed by any replica; `None` on SQLite, where only this
    /// process writes and `deliveries_committed` is enough.
    pub async fn delivery_listener(&self) -> Result<Option<DeliveryListener>, StoreError> {
        match self.db() {
            Db::Sqlite(_) => Ok(None),
            Db::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(super::DELIVERY_CHANNEL).await?;
                Ok(Some(DeliveryListener(listener)))
            }
        }
    }
}
