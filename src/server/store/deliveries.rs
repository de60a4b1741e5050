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

/// Rows a claim may lease: new or retrying, and due. Matches the partial index
/// `deliveries_waiting`, so the oldest due rows are read in index order.
const DUE: &str = "d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1";

/// Candidates for a claim, oldest first, skipping disabled endpoints and the claimer's
/// saturated endpoints ($8, a JSON array), and taking from each endpoint only what fits under
/// the cap ($2) next to the claimer's attempts already in flight there ($7, a JSON object of
/// counts). The scan is bounded ($3) so a deep backlog costs the same as a short one. The text
/// never changes with the inputs, so each connection prepares it once.
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
        "SELECT c.id FROM ( \
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

const CLAIMED_COLUMNS: &str = "d.id AS delivery_id, d.lease_token, d.event_id, d.attempts, \
     ev.event_name, ev.facial_id, ev.client_ip, ev.gender, ev.age, ev.payload, ev.occurred_at, \
     a.id AS app_id, a.plan, a.webhook_token, e.id AS endpoint_id, e.url, e.timeout_secs, \
     e.include_payload, e.signing_secret, e.previous_signing_secret, e.previous_secret_expires_at";

/// How many due rows a claim of `limit` looks at: enough to skip over endpoints at their cap.
fn claim_scan(limit: i64) -> i64 {
    (limit * 2).clamp(64, 1000)
}

/// The outcomes of one batch as a table, from one JSON parameter ($1), so a batch costs a
/// few statements however many attempts it holds.
fn outcome_rows(db: &Db) -> String {
    const FIELDS: [(&str, &str); 15] = [
        ("id", "text"),
        ("token", "text"),
        ("status", "text"),
        ("next_attempt_at", "bigint"),
        ("completed_at", "bigint"),
        ("status_code", "bigint"),
        ("error_class", "text"),
        ("duration_ms", "bigint"),
        ("attempt_id", "text"),
        ("started_at", "bigint"),
        ("http_version", "text"),
        ("remote_addr", "text"),
        ("error_message", "text"),
        ("response_headers", "text"),
        ("response_excerpt", "text"),
    ];
    match db {
        Db::Sqlite(_) => {
            let columns: Vec<String> = FIELDS
                .iter()
                .map(|(name, _)| format!("json_extract(value, '$.{name}') AS {name}"))
                .collect();
            format!("SELECT {} FROM json_each($1)", columns.join(", "))
        }
        Db::Postgres(_) => {
            let columns: Vec<String> = FIELDS
                .iter()
                .map(|(name, kind)| format!("{name} {kind}"))
                .collect();
            format!(
                "SELECT * FROM jsonb_to_recordset($1::jsonb) AS r({})",
                columns.join(", ")
            )
        }
    }
}

fn outcomes_json(outcomes: &[AttemptOutcome]) -> String {
    let now = now_ms();
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            let a = &o.attempt;
            let (status, next_attempt_at, completed_at) = match o.next {
                NextStep::Delivered => ("delivered", None, Some(now)),
                NextStep::RetryAt(at) => ("retrying", Some(at), None),
                NextStep::Failed => ("failed", None, Some(now)),
            };
            serde_json::json!({
                "id": o.delivery_id, "token": o.lease_token, "status": status,
                "next_attempt_at": next_attempt_at, "completed_at": completed_at,
                "status_code": a.status_code, "error_class": a.error_class,
                "duration_ms": a.duration_ms, "attempt_id": new_id("att"),
                "started_at": a.started_at, "http_version": a.http_version,
                "remote_addr": a.remote_addr, "error_message": a.error_message,
                "response_headers": a.response_headers, "response_excerpt": a.response_excerpt,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// What recorded outcomes mean for their endpoints, on `$tx`; a macro so it is type-checked
/// once per backend, like `on_db!`.
macro_rules! apply_verdict {
    ($tx:ident, $outcome:expr) => {{
        let outcome: &AttemptOutcome = $outcome;
        let now = now_ms();
        match &outcome.endpoint {
            EndpointVerdict::Healthy => {}
            EndpointVerdict::Failing {
                disable_if_failing_since,
                reason,
            } => {
                sqlx::query(
                    "UPDATE endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                )
                .bind(&outcome.endpoint_id)
                .bind(outcome.attempt.started_at)
                .execute(&mut *$tx)
                .await?;
                sqlx::query(
                    "UPDATE endpoints SET enabled = FALSE, disabled_at = $3, disabled_reason = $4 \
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
    }};
}

impl Store {
    /// Leases up to `limit` due deliveries for `timeouts_per_lease` times their endpoint's
    /// timeout plus `lease_margin_ms`, keeping the deliveries the caller holds per endpoint
    /// (`in_flight`: endpoint id and count) at most `per_endpoint`. On PostgreSQL, replicas skip rows another claim has locked, so a
    /// delivery is never leased twice; SQLite has one writer, which gives the same guarantee.
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        per_endpoint: i64,
        in_flight: &[(String, i64)],
        timeouts_per_lease: i64,
        lease_margin_ms: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = now_ms();
        let token = new_id("lease");
        let busy: serde_json::Map<String, serde_json::Value> = in_flight
            .iter()
            .map(|(id, count)| (id.clone(), (*count).into()))
            .collect();
        let saturated: Vec<&str> = in_flight
            .iter()
            .filter(|(_, count)| *count >= per_endpoint)
            .map(|(id, _)| id.as_str())
            .collect();
        let (busy, saturated) = (
            serde_json::Value::Object(busy).to_string(),
            serde_json::to_string(&saturated).unwrap_or_else(|_| "[]".to_owned()),
        );
        let lock = match self.db() {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let claim = format!(
            "UPDATE deliveries SET status = 'delivering', lease_token = $6, \
             lease_until = $5 + $9 * 1000 * (SELECT e.timeout_secs FROM endpoints e WHERE e.id = deliveries.endpoint_id) \
             WHERE id IN (SELECT d.id FROM deliveries d WHERE d.id IN ({candidates}) AND {DUE}{lock})",
            candidates = candidates_sql(self.db()),
        );
        let details = format!(
            "SELECT {CLAIMED_COLUMNS} FROM deliveries d \
             JOIN events ev ON ev.id = d.event_id \
             JOIN endpoints e ON e.id = d.endpoint_id \
             JOIN applications a ON a.id = d.app_id \
             WHERE d.lease_token = $1 ORDER BY d.next_attempt_at"
        );
        let claimed = on_db!(self.db(), |pool| {
            let query = sqlx::query(&claim)
                .bind(now)
                .bind(per_endpoint)
                .bind(claim_scan(limit))
                .bind(limit)
                .bind(now + lease_margin_ms)
                .bind(&token)
                .bind(&busy)
                .bind(&saturated)
                .bind(timeouts_per_lease);
            let leased = query.execute(pool).await?.rows_affected();
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
        let rows = outcome_rows(self.db());
        let json = outcomes_json(outcomes);
        // Attempts first: the update below clears the leases they are matched on.
        let insert_attempts = format!(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt_number, started_at, \
             duration_ms, http_version, remote_addr, status_code, error_class, error_message, \
             response_headers, response_excerpt) \
             SELECT j.attempt_id, d.id, d.attempts + 1, j.started_at, j.duration_ms, \
             j.http_version, j.remote_addr, j.status_code, j.error_class, j.error_message, \
             j.response_headers, j.response_excerpt \
             FROM ({rows}) j JOIN deliveries d ON d.id = j.id AND d.lease_token = j.token"
        );
        let update_deliveries = format!(
            "UPDATE deliveries SET status = j.status, attempts = deliveries.attempts + 1, \
             next_attempt_at = COALESCE(j.next_attempt_at, deliveries.next_attempt_at), \
             completed_at = j.completed_at, lease_until = NULL, lease_token = NULL, \
             last_status_code = j.status_code, last_error_class = j.error_class, \
             last_latency_ms = j.duration_ms \
             FROM ({rows}) j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token \
             RETURNING deliveries.id"
        );
        let healthy: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.endpoint == EndpointVerdict::Healthy)
            .map(|o| o.endpoint_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let healthy = serde_json::to_string(&healthy).unwrap_or_else(|_| "[]".to_owned());
        let clear_failing = match self.db() {
            Db::Sqlite(_) => {
                "UPDATE endpoints SET failing_since = NULL WHERE failing_since IS NOT NULL \
                 AND id IN (SELECT value FROM json_each($1))"
            }
            Db::Postgres(_) => {
                "UPDATE endpoints SET failing_since = NULL WHERE failing_since IS NOT NULL \
                 AND id IN (SELECT jsonb_array_elements_text($1::jsonb))"
            }
        };
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(&insert_attempts)
                .bind(&json)
                .execute(&mut *tx)
                .await?;
            let recorded: std::collections::HashSet<String> =
                sqlx::query_scalar(&update_deliveries)
                    .bind(&json)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
            sqlx::query(clear_failing)
                .bind(&healthy)
                .execute(&mut *tx)
                .await?;
            for outcome in outcomes
                .iter()
                .filter(|o| recorded.contains(&o.delivery_id))
            {
                apply_verdict!(tx, outcome);
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

    /// Puts deliveries whose lease ran out (their worker crashed or hung) back in the queue,
    /// due at once. Their late outcome, if it ever comes, no longer matches the lease.
    pub async fn reclaim_expired_leases(&self) -> Result<u64, StoreError> {
        let reclaimed = on_db!(self.db(), |pool| {
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
