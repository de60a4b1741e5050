//! What attempts did: their records, where each delivery goes next, and what it means for
//! its endpoint; and the rows and statements both backends record them with, a whole batch
//! in one transaction.

use crate::model::ids::{DeliveryId, EndpointId};

use super::super::new_id;
use super::super::OrderKey;
use crate::server::clock::now_ms;
use std::borrow::Cow;

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
    pub delivery_id: DeliveryId,
    pub lease_token: String,
    pub endpoint_id: EndpointId,
    pub attempt: AttemptRecord,
    /// The attempt's time unrounded, for the latency histogram: loopback and nearby
    /// receivers answer within the millisecond `attempt.duration_ms` keeps.
    pub duration: std::time::Duration,
    pub next: NextStep,
    pub endpoint: EndpointVerdict,
    /// The facial ID, when the endpoint delivers in order: once this delivery is finished,
    /// the next of its facial ID is released.
    pub order_key: Option<String>,
    /// The receiver asked to be left alone (a 429) until then: no replica sends it anything
    /// before.
    pub pause_endpoint_until: Option<i64>,
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
pub(super) const OUTCOME_FIELDS: [(&str, &str); 15] = [
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

/// One row of the outcome table, in `OUTCOME_FIELDS` order.
#[derive(serde::Serialize)]
pub(super) struct OutcomeRow<'a> {
    pub id: &'a str,
    pub token: &'a str,
    pub status: &'static str,
    pub next_attempt_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub status_code: Option<i64>,
    pub error_class: Option<&'a str>,
    pub duration_ms: i64,
    pub attempt_id: String,
    pub started_at: i64,
    pub http_version: Option<&'a str>,
    pub remote_addr: Option<&'a str>,
    pub error_message: Option<Cow<'a, str>>,
    pub response_headers: Option<Cow<'a, str>>,
    pub response_excerpt: Option<Cow<'a, str>>,
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

pub(super) fn outcome_rows(outcomes: &[AttemptOutcome]) -> Vec<OutcomeRow<'_>> {
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
                id: o.delivery_id.as_str(),
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

/// The facial IDs whose delivery of the batch finished (delivered or failed for good) at an
/// ordered endpoint: the next of each is released.
pub(super) fn finished_in_order(outcomes: &[AttemptOutcome]) -> Vec<OrderKey> {
    outcomes
        .iter()
        .filter(|o| matches!(o.next, NextStep::Delivered | NextStep::Failed))
        .filter_map(|o| {
            o.order_key.as_ref().map(|facial_id| OrderKey {
                endpoint_id: o.endpoint_id.clone(),
                facial_id: facial_id.clone(),
            })
        })
        .collect()
}

/// Endpoints a 429 asked to pause, each until the latest time asked, as a JSON array of
/// `[endpoint_id, until]`.
pub(super) fn pauses(outcomes: &[AttemptOutcome]) -> Option<String> {
    let mut until: std::collections::BTreeMap<&str, i64> = Default::default();
    for outcome in outcomes {
        if let Some(at) = outcome.pause_endpoint_until {
            let entry = until.entry(outcome.endpoint_id.as_str()).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
    if until.is_empty() {
        return None;
    }
    serde_json::to_string(&until.into_iter().collect::<Vec<_>>()).ok()
}

/// The endpoints an outcome of the batch found healthy, once each, as a JSON array.
pub(super) fn healthy_endpoints(outcomes: &[AttemptOutcome]) -> String {
    let healthy: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.endpoint == EndpointVerdict::Healthy)
        .map(|o| o.endpoint_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    super::json_array(&healthy)
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
pub(super) use apply_verdict;

/// The outcome rows of the batch `j` whose lease still holds, each with its delivery's
/// attempts so far.
pub(super) const HELD: &str = "SELECT j.*, d.attempts FROM j \
     JOIN deliveries d ON d.id = j.id AND d.lease_token = j.token";

/// The columns of an attempt's row, and their values from a row of `HELD`.
pub(super) const ATTEMPT_COLUMNS: &str =
    "id, delivery_id, attempt_number, started_at, duration_ms, \
     http_version, remote_addr, status_code, error_class, error_message, response_headers, \
     response_excerpt";
pub(super) const ATTEMPT_VALUES: &str =
    "held.attempt_id, held.id, held.attempts + 1, held.started_at, \
     held.duration_ms, held.http_version, held.remote_addr, held.status_code, held.error_class, \
     held.error_message, held.response_headers, held.response_excerpt";

/// A delivery's move to its next state, from its outcome row `j`.
pub(super) const DELIVERY_CHANGES: &str = "status = j.status, attempts = deliveries.attempts + 1, \
     next_attempt_at = COALESCE(j.next_attempt_at, deliveries.next_attempt_at), \
     completed_at = j.completed_at, lease_until = NULL, lease_token = NULL, \
     last_status_code = j.status_code, last_error_class = j.error_class, \
     last_latency_ms = j.duration_ms";

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
}
