//! What attempts did: their records, where each delivery goes next, and what it means for
//! its endpoint — written for a whole batch of outcomes in one transaction.

use super::{new_id, now_ms, on_db, Db, Store, StoreError};

/// What one attempt observed, as stored in `delivery_attempts`.
#[derive(Debug, Clone, Default, serde::Serialize, sqlx::FromRow)]
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
    /// Says nothing about the endpoint (a test event).
    Unchanged,
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

/// One row of `outcome_rows`, as serialised into its JSON parameter.
#[derive(serde::Serialize)]
struct OutcomeRow<'a> {
    id: &'a str,
    token: &'a str,
    status: &'static str,
    next_attempt_at: Option<i64>,
    completed_at: Option<i64>,
    attempt_id: String,
    #[serde(flatten)]
    attempt: &'a AttemptRecord,
}

fn outcomes_json(outcomes: &[AttemptOutcome]) -> String {
    let now = now_ms();
    let rows: Vec<OutcomeRow> = outcomes
        .iter()
        .map(|o| {
            let (status, next_attempt_at, completed_at) = match o.next {
                NextStep::Delivered => ("delivered", None, Some(now)),
                NextStep::RetryAt(at) => ("retrying", Some(at), None),
                NextStep::Failed => ("failed", None, Some(now)),
            };
            OutcomeRow {
                id: &o.delivery_id,
                token: &o.lease_token,
                status,
                next_attempt_at,
                completed_at,
                attempt_id: new_id("att"),
                attempt: &o.attempt,
            }
        })
        .collect();
    // Strings, numbers and options only: serialising cannot fail.
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

/// What a failed attempt means for its endpoint, on `$tx`, unless its lease was lost (then
/// the attempt is not recorded either). Runs before the deliveries' update, which clears the
/// leases. A macro so it is type-checked once per backend, like `on_db!`.
macro_rules! apply_verdict {
    ($tx:ident, $outcome:expr) => {{
        let outcome: &AttemptOutcome = $outcome;
        let now = now_ms();
        match &outcome.endpoint {
            EndpointVerdict::Healthy | EndpointVerdict::Unchanged => {}
            EndpointVerdict::Failing {
                disable_if_failing_since,
                reason,
            } => {
                // SET sees the row as it was: `COALESCE(failing_since, $4)` is the new value,
                // so one statement both counts the failure and disables an endpoint that has
                // been failing since before the cut-off ($5).
                sqlx::query(
                    "UPDATE endpoints SET failing_since = COALESCE(failing_since, $4), \
                     consecutive_failures = consecutive_failures + 1, \
                     enabled = enabled AND COALESCE(failing_since, $4) > $5, \
                     disabled_at = CASE WHEN enabled AND COALESCE(failing_since, $4) <= $5 \
                                   THEN $6 ELSE disabled_at END, \
                     disabled_reason = CASE WHEN enabled AND COALESCE(failing_since, $4) <= $5 \
                                       THEN $7 ELSE disabled_reason END \
                     WHERE id = $1 \
                     AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = $2 AND d.lease_token = $3)",
                )
                .bind(&outcome.endpoint_id)
                .bind(&outcome.delivery_id)
                .bind(&outcome.lease_token)
                .bind(outcome.attempt.started_at)
                .bind(*disable_if_failing_since)
                .bind(now)
                .bind(reason)
                .execute(&mut *$tx)
                .await?;
            }
            EndpointVerdict::Disable { reason } => {
                sqlx::query(
                    "UPDATE endpoints SET enabled = FALSE, disabled_at = $4, disabled_reason = $5, \
                     consecutive_failures = consecutive_failures + 1 WHERE id = $1 AND enabled \
                     AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = $2 AND d.lease_token = $3)",
                )
                .bind(&outcome.endpoint_id)
                .bind(&outcome.delivery_id)
                .bind(&outcome.lease_token)
                .bind(now)
                .bind(reason)
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}

impl Store {
    /// Writes attempts and their consequences in one transaction. An outcome whose lease was
    /// lost (expired and taken by another worker) is dropped: that worker now owns the row.
    pub async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let rows = outcome_rows(self.queue_db());
        let json = outcomes_json(outcomes);
        // Attempts and verdicts first: the update below clears the leases they are matched on.
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
             FROM ({rows}) j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token"
        );
        let healthy: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.endpoint == EndpointVerdict::Healthy)
            .map(|o| o.endpoint_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let healthy = serde_json::to_string(&healthy).unwrap_or_else(|_| "[]".to_owned());
        let clear_failing = match self.queue_db() {
            Db::Sqlite(_) => {
                "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0 \
                 WHERE failing_since IS NOT NULL AND id IN (SELECT value FROM json_each($1))"
            }
            Db::Postgres(_) => {
                "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0 \
                 WHERE failing_since IS NOT NULL \
                 AND id IN (SELECT jsonb_array_elements_text($1::jsonb))"
            }
        };
        // Statements that return nothing: on SQLite every result row would be its own
        // hand-over from the database thread.
        on_db!(self.queue_db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(&insert_attempts)
                .bind(&json)
                .execute(&mut *tx)
                .await?;
            sqlx::query(clear_failing)
                .bind(&healthy)
                .execute(&mut *tx)
                .await?;
            for outcome in outcomes {
                apply_verdict!(tx, outcome);
            }
            sqlx::query(&update_deliveries)
                .bind(&json)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }
}
