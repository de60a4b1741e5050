//! What attempts did: their records, where each delivery goes next, and what it means for
//! its endpoint — written for a whole batch of outcomes in one transaction.

use super::{new_id, QueueDb, Store, StoreError};
use crate::server::clock::now_ms;
use std::borrow::Cow;
use std::sync::LazyLock;

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
    /// The attempt's time unrounded, for the latency histogram: loopback and nearby
    /// receivers answer within the millisecond `attempt.duration_ms` keeps.
    pub duration: std::time::Duration,
    pub next: NextStep,
    pub endpoint: EndpointVerdict,
}

impl AttemptOutcome {
    /// This outcome without what the receiver sent (headers, body excerpt, error text): what
    /// is left is numbers and our own words, which any database stores.
    pub fn without_receiver_text(&self) -> AttemptOutcome {
        let mut bare = self.clone();
        bare.attempt.response_headers = None;
        bare.attempt.response_excerpt = None;
        bare.attempt.error_message = None;
        bare
    }
}

/// The columns of a batch's outcome table `j`, with their PostgreSQL types.
const OUTCOME_FIELDS: [(&str, &str); 15] = [
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

/// Most outcomes the dispatcher records in one transaction. On SQLite a batch holds the
/// queue's connection while it writes and the next claim waits behind it: a lone endpoint's
/// held deliveries ran low during a 256-outcome write (3–4 ms under load), so batches stay at
/// half that.
pub const RECORD_BATCH: usize = 128;

/// SQLite binds outcome rows as values, in chunks of these sizes: each chunk size is one
/// statement text, prepared once per connection, and a full batch is one chunk.
const SQLITE_CHUNKS: [usize; 5] = [
    RECORD_BATCH,
    RECORD_BATCH / 4,
    RECORD_BATCH / 16,
    RECORD_BATCH / 64,
    1,
];

/// `statement` reading `rows` outcome rows as SQLite's table `j`, from bound values: its JSON
/// functions re-parsed every row's text once per column and cost more than the writes
/// themselves.
fn sqlite_with_outcomes(rows: usize, statement: &str) -> String {
    let names: Vec<&str> = OUTCOME_FIELDS.iter().map(|(name, _)| *name).collect();
    let row = format!("({})", vec!["?"; OUTCOME_FIELDS.len()].join(", "));
    format!(
        "WITH j({}) AS (VALUES {}) {statement}",
        names.join(", "),
        vec![row; rows].join(", ")
    )
}

/// PostgreSQL records a whole batch ($1, one JSON array) in one statement: the batch is
/// parsed and matched to its leased rows once, then feeds both the attempts' insert and the
/// deliveries' update. Every part sees the rows as they were before the statement, so an
/// attempt's number is counted from the old `attempts`; the update re-checks the lease.
static POSTGRES_RECORD: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = OUTCOME_FIELDS
        .iter()
        .map(|(name, kind)| format!("{name} {kind}"))
        .collect();
    format!(
        "WITH j AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r({})), \
         held AS ({HELD}), \
         written AS (INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS}) \
                     SELECT {ATTEMPT_VALUES} FROM held) \
         UPDATE deliveries SET {DELIVERY_CHANGES} \
         FROM held j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token",
        columns.join(", ")
    )
});

/// One row of the outcome table, in `OUTCOME_FIELDS` order.
#[derive(serde::Serialize)]
struct OutcomeRow<'a> {
    id: &'a str,
    token: &'a str,
    status: &'static str,
    next_attempt_at: Option<i64>,
    completed_at: Option<i64>,
    status_code: Option<i64>,
    error_class: Option<&'a str>,
    duration_ms: i64,
    attempt_id: String,
    started_at: i64,
    http_version: Option<&'a str>,
    remote_addr: Option<&'a str>,
    error_message: Option<Cow<'a, str>>,
    response_headers: Option<Cow<'a, str>>,
    response_excerpt: Option<Cow<'a, str>>,
}

/// What a receiver sent is stored as text both backends accept: PostgreSQL refuses NUL in
/// text, and one such reply once failed its whole batch. NUL becomes U+FFFD, as a lossy
/// decoder shows any byte it cannot represent.
fn storable(text: Option<&str>) -> Option<Cow<'_, str>> {
    text.map(|text| {
        if text.contains('\0') {
            Cow::Owned(text.replace('\0', "\u{FFFD}"))
        } else {
            Cow::Borrowed(text)
        }
    })
}

fn outcome_rows(outcomes: &[AttemptOutcome]) -> Vec<OutcomeRow<'_>> {
    let now = now_ms();
    outcomes
        .iter()
        .map(|o| {
            let (status, next_attempt_at, completed_at) = match o.next {
                NextStep::Delivered => ("delivered", None, Some(now)),
                NextStep::RetryAt(at) => ("retrying", Some(at), None),
                NextStep::Failed => ("failed", None, Some(now)),
            };
            let attempt = &o.attempt;
            OutcomeRow {
                id: &o.delivery_id,
                token: &o.lease_token,
                status,
                next_attempt_at,
                completed_at,
                status_code: attempt.status_code,
                error_class: attempt.error_class.as_deref(),
                duration_ms: attempt.duration_ms,
                attempt_id: new_id("att"),
                started_at: attempt.started_at,
                http_version: attempt.http_version.as_deref(),
                remote_addr: attempt.remote_addr.as_deref(),
                error_message: storable(attempt.error_message.as_deref()),
                response_headers: storable(attempt.response_headers.as_deref()),
                response_excerpt: storable(attempt.response_excerpt.as_deref()),
            }
        })
        .collect()
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_rows<'q>(mut query: SqliteQuery<'q>, rows: &'q [OutcomeRow<'q>]) -> SqliteQuery<'q> {
    for row in rows {
        query = query
            .bind(row.id)
            .bind(row.token)
            .bind(row.status)
            .bind(row.next_attempt_at)
            .bind(row.completed_at)
            .bind(row.status_code)
            .bind(row.error_class)
            .bind(row.duration_ms)
            .bind(row.attempt_id.as_str())
            .bind(row.started_at)
            .bind(row.http_version)
            .bind(row.remote_addr)
            .bind(row.error_message.as_deref())
            .bind(row.response_headers.as_deref())
            .bind(row.response_excerpt.as_deref());
    }
    query
}

/// `rows` split into runs of `SQLITE_CHUNKS` sizes.
fn sqlite_chunks<T>(mut rows: &[T]) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    for size in SQLITE_CHUNKS {
        while rows.len() >= size {
            let (chunk, rest) = rows.split_at(size);
            chunks.push(chunk);
            rows = rest;
        }
    }
    chunks
}

/// What a failed attempt means for its endpoint, on `$tx`, unless its lease was lost (then
/// the attempt is not recorded either). Runs before the deliveries' update, which clears the
/// leases. A macro so it is type-checked against each backend's transaction.
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

/// The outcome rows of the batch `j` whose lease still holds, each with its delivery's
/// attempts so far.
const HELD: &str = "SELECT j.*, d.attempts FROM j \
     JOIN deliveries d ON d.id = j.id AND d.lease_token = j.token";

/// The columns of an attempt's row, and their values from a row of `HELD`.
const ATTEMPT_COLUMNS: &str = "id, delivery_id, attempt_number, started_at, duration_ms, \
     http_version, remote_addr, status_code, error_class, error_message, response_headers, \
     response_excerpt";
const ATTEMPT_VALUES: &str = "held.attempt_id, held.id, held.attempts + 1, held.started_at, \
     held.duration_ms, held.http_version, held.remote_addr, held.status_code, held.error_class, \
     held.error_message, held.response_headers, held.response_excerpt";

/// A delivery's move to its next state, from its outcome row `j`.
const DELIVERY_CHANGES: &str = "status = j.status, attempts = deliveries.attempts + 1, \
     next_attempt_at = COALESCE(j.next_attempt_at, deliveries.next_attempt_at), \
     completed_at = j.completed_at, lease_until = NULL, lease_token = NULL, \
     last_status_code = j.status_code, last_error_class = j.error_class, \
     last_latency_ms = j.duration_ms";

/// SQLite: copies each attempt of the batch `j` whose lease still holds into
/// `delivery_attempts`.
static SQLITE_INSERT_ATTEMPTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS}) \
         SELECT {ATTEMPT_VALUES} FROM ({HELD}) held"
    )
});

/// SQLite: moves each delivery of the batch `j` whose lease still holds to its next state.
static SQLITE_UPDATE_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries SET {DELIVERY_CHANGES} \
         FROM j WHERE deliveries.id = j.id AND deliveries.lease_token = j.token"
    )
});

impl Store {
    /// Writes attempts and their consequences in one transaction. An outcome whose lease was
    /// lost (expired and taken by another worker) is dropped: that worker now owns the row.
    /// Verdicts (and on SQLite the attempts) come first: the deliveries' update clears the
    /// leases they are matched on; PostgreSQL's one statement matches every row before it
    /// changes any. No statement returns rows: on SQLite each row is a hand-over from the
    /// database thread.
    pub async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let rows = outcome_rows(outcomes);
        let healthy: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.endpoint == EndpointVerdict::Healthy)
            .map(|o| o.endpoint_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let healthy = serde_json::to_string(&healthy).unwrap_or_else(|_| "[]".to_owned());
        match self.queue_db() {
            QueueDb::Sqlite { writer: pool, .. } => {
                let chunks = sqlite_chunks(&rows);
                let mut tx = pool.begin().await?;
                for chunk in &chunks {
                    let sql = sqlite_with_outcomes(chunk.len(), &SQLITE_INSERT_ATTEMPTS);
                    bind_rows(sqlx::query(&sql), chunk)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0, \
                     last_success_at = CASE WHEN alerting THEN $2 ELSE last_success_at END \
                     WHERE (failing_since IS NOT NULL OR alerting) \
                     AND id IN (SELECT value FROM json_each($1))",
                )
                .bind(&healthy)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                for outcome in outcomes {
                    apply_verdict!(tx, outcome);
                }
                for chunk in &chunks {
                    let sql = sqlite_with_outcomes(chunk.len(), &SQLITE_UPDATE_DELIVERIES);
                    bind_rows(sqlx::query(&sql), chunk)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            QueueDb::Postgres(pool) => {
                // Strings, numbers and options only: serialising cannot fail.
                let json = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned());
                let mut tx = pool.begin().await?;
                // Like SQLite's NORMAL sync on its queue: an outcome lost to a database crash
                // leaves its lease to expire and the delivery to be sent again (at least
                // once), so the commit need not wait for the log's flush. Leases and events
                // are still committed durably.
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE endpoints SET failing_since = NULL, consecutive_failures = 0, \
                     last_success_at = CASE WHEN alerting THEN $2 ELSE last_success_at END \
                     WHERE (failing_since IS NOT NULL OR alerting) \
                     AND id IN (SELECT jsonb_array_elements_text($1::jsonb))",
                )
                .bind(&healthy)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                for outcome in outcomes {
                    apply_verdict!(tx, outcome);
                }
                sqlx::query(POSTGRES_RECORD.as_str())
                    .bind(&json)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_text_is_stored_without_nul() {
        assert_eq!(storable(Some("a\0b")).as_deref(), Some("a\u{FFFD}b"));
        assert!(matches!(
            storable(Some("plain")),
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(storable(None), None);
    }

    #[test]
    fn a_full_batch_is_one_sqlite_statement_and_the_rest_split_largest_first() {
        let rows = [0; RECORD_BATCH + 37];
        let sizes: Vec<usize> = sqlite_chunks(&rows).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [RECORD_BATCH, 32, 2, 2, 1]);
    }
}
