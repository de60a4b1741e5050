//! The delivery queue as the dispatcher sees it: claim due deliveries under a lease, record
//! what each attempt did, give leases back, purge old history. Never holds a transaction
//! across an HTTP call: a claim commits at once and the outcome is written afterwards.

use super::{new_id, now_ms, on_db, Db, Store, StoreError};

/// A leased delivery with everything needed to send it, read when it was claimed (send time).
#[derive(Debug, Clone, sqlx::FromRow)]
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

/// What one attempt observed, as stored in `delivery_attempts`.
#[derive(Debug, Clone, Default)]
pub struct AttemptRecord {
    pub started_at: i64,
    pub duration_ms: i64,
    pub http_version: Option<String>,
    pub remote_addr: Option<String>,
    pub status_code: Option<i64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub response_headers: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Delivered,
    RetryAt(i64),
    Failed,
}

/// What an attempt means for its endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointVerdict {
    Healthy,
    /// Failing; disabled with `reason` if it has been failing since before
    /// `disable_if_failing_since`.
    Failing {
        disable_if_failing_since: i64,
        reason: String,
    },
    Disable {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: String,
    pub lease_token: String,
    pub endpoint_id: String,
    pub attempt: AttemptRecord,
    pub next: NextStep,
    pub endpoint: EndpointVerdict,
}

/// Rows a claim may lease: new or retrying and due, or leased by a worker that vanished.
const DUE: &str = "((d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1) \
     OR (d.status = 'delivering' AND d.lease_until < $1))";

/// Candidates for a claim, oldest first, skipping disabled endpoints and endpoints already at
/// their in-flight cap ($2), and taking from each endpoint only what fits under the cap. The
/// scan is bounded ($3) so a deep backlog costs the same as a short one.
fn candidates_sql() -> String {
    format!(
        "SELECT c.id FROM ( \
           SELECT s.id, s.endpoint_id, s.next_attempt_at, \
                  ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at, s.id) AS place \
           FROM (SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
                 JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
                 WHERE {DUE} AND d.endpoint_id NOT IN ( \
                   SELECT f.endpoint_id FROM deliveries f \
                   WHERE f.status = 'delivering' AND f.lease_until >= $1 \
                   GROUP BY f.endpoint_id HAVING COUNT(*) >= $2) \
                 ORDER BY d.next_attempt_at LIMIT $3) s \
         ) c \
         WHERE c.place + (SELECT COUNT(*) FROM deliveries f \
                          WHERE f.endpoint_id = c.endpoint_id AND f.status = 'delivering' \
                          AND f.lease_until >= $1) <= $2 \
         ORDER BY c.next_attempt_at LIMIT $4"
    )
}

const CLAIMED_COLUMNS: &str = "d.id AS delivery_id, d.lease_token, d.event_id, d.attempts, \
     ev.event_name, ev.facial_id, ev.client_ip, ev.gender, ev.age, ev.payload, ev.occurred_at, \
     a.id AS app_id, a.plan, a.webhook_token, e.id AS endpoint_id, e.url, e.timeout_secs, \
     e.include_payload, e.signing_secret, e.previous_signing_secret, e.previous_secret_expires_at";

/// How many due rows one claim looks at.
const CLAIM_SCAN: i64 = 1000;

/// One outcome's statements inside `record_attempts`' transaction; a macro so it is
/// type-checked once per backend, like `on_db!`.
macro_rules! record_one {
    ($tx:ident, $outcome:expr) => {{
        let outcome: &AttemptOutcome = $outcome;
        let a = &outcome.attempt;
        let now = now_ms();
        let (status, next_attempt_at, completed_at) = match outcome.next {
            NextStep::Delivered => ("delivered", None, Some(now)),
            NextStep::RetryAt(at) => ("retrying", Some(at), None),
            NextStep::Failed => ("failed", None, Some(now)),
        };
        let updated = sqlx::query(
            "UPDATE deliveries SET status = $3, attempts = attempts + 1, \
             next_attempt_at = COALESCE($4, next_attempt_at), completed_at = $5, \
             lease_until = NULL, lease_token = NULL, last_status_code = $6, \
             last_error_class = $7, last_latency_ms = $8 \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(&outcome.delivery_id)
        .bind(&outcome.lease_token)
        .bind(status)
        .bind(next_attempt_at)
        .bind(completed_at)
        .bind(a.status_code)
        .bind(&a.error_class)
        .bind(a.duration_ms)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if updated == 1 {
            sqlx::query(
                "INSERT INTO delivery_attempts (id, delivery_id, attempt_number, started_at, \
                 duration_ms, http_version, remote_addr, status_code, error_class, error_message, \
                 response_headers, response_excerpt) \
                 SELECT $1, $2, attempts, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
                 FROM deliveries WHERE id = $2",
            )
            .bind(new_id("att"))
            .bind(&outcome.delivery_id)
            .bind(a.started_at)
            .bind(a.duration_ms)
            .bind(&a.http_version)
            .bind(&a.remote_addr)
            .bind(a.status_code)
            .bind(&a.error_class)
            .bind(&a.error_message)
            .bind(&a.response_headers)
            .bind(&a.response_excerpt)
            .execute(&mut *$tx)
            .await?;
            match &outcome.endpoint {
                EndpointVerdict::Healthy => {
                    sqlx::query(
                        "UPDATE endpoints SET failing_since = NULL \
                         WHERE id = $1 AND failing_since IS NOT NULL",
                    )
                    .bind(&outcome.endpoint_id)
                    .execute(&mut *$tx)
                    .await?;
                }
                EndpointVerdict::Failing {
                    disable_if_failing_since,
                    reason,
                } => {
                    sqlx::query(
                        "UPDATE endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                    )
                    .bind(&outcome.endpoint_id)
                    .bind(a.started_at)
                    .execute(&mut *$tx)
                    .await?;
                    sqlx::query(
                        "UPDATE endpoints SET enabled = FALSE, disabled_at = $3, \
                         disabled_reason = $4 \
                         WHERE id = $1 AND enabled AND failing_since <= $2",
                    )
                    .bind(&outcome.endpoint_id)
                    .bind(*disable_if_failing_since)
                    .bind(now)
                    .bind(reason)
                    .execute(&mut *$tx)
                    .await?;
                }
                EndpointVerdict::Disable { reason } => {
                    sqlx::query(
                        "UPDATE endpoints SET enabled = FALSE, disabled_at = $2, disabled_reason = $3 \
                         WHERE id = $1 AND enabled",
                    )
                    .bind(&outcome.endpoint_id)
                    .bind(now)
                    .bind(reason)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
        }
    }};
}

impl Store {
    /// Leases up to `limit` due deliveries for their endpoint's timeout plus `lease_margin_ms`,
    /// at most `per_endpoint` in flight per endpoint. On PostgreSQL, replicas skip rows another
    /// claim has locked, so a delivery is never leased twice; SQLite has one writer, which
    /// gives the same guarantee.
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        per_endpoint: i64,
        lease_margin_ms: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = now_ms();
        let token = new_id("lease");
        let lock = match self.db() {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let claim = format!(
            "UPDATE deliveries SET status = 'delivering', lease_token = $6, \
             lease_until = $5 + 1000 * (SELECT e.timeout_secs FROM endpoints e WHERE e.id = deliveries.endpoint_id) \
             WHERE id IN (SELECT d.id FROM deliveries d WHERE d.id IN ({candidates}) AND {DUE}{lock})",
            candidates = candidates_sql(),
        );
        let details = format!(
            "SELECT {CLAIMED_COLUMNS} FROM deliveries d \
             JOIN events ev ON ev.id = d.event_id \
             JOIN endpoints e ON e.id = d.endpoint_id \
             JOIN applications a ON a.id = d.app_id \
             WHERE d.lease_token = $1 ORDER BY d.next_attempt_at"
        );
        let claimed = on_db!(self.db(), |pool| {
            let leased = sqlx::query(&claim)
                .bind(now)
                .bind(per_endpoint)
                .bind(CLAIM_SCAN)
                .bind(limit)
                .bind(now + lease_margin_ms)
                .bind(&token)
                .execute(pool)
                .await?
                .rows_affected();
            if leased == 0 {
                Ok(Vec::new())
            } else {
                sqlx::query_as::<_, ClaimedDelivery>(&details)
                    .bind(&token)
                    .fetch_all(pool)
                    .await
            }
        })?;
        Ok(claimed)
    }

    /// Writes attempts and their consequences in one transaction. An outcome whose lease was
    /// lost (expired and taken by another worker) is dropped: that worker now owns the row.
    pub async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for outcome in outcomes {
                record_one!(tx, outcome);
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Gives leased deliveries back untouched, e.g. when shutting down mid-attempt.
    pub async fn release_leases(&self, lease_tokens: &[String]) -> Result<u64, StoreError> {
        let mut released = 0;
        for token in lease_tokens {
            released += on_db!(self.db(), |pool| {
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
