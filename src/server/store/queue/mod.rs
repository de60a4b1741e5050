//! The delivery queue: claims lease the oldest due deliveries to one dispatcher, within its
//! per-endpoint caps, and read back everything needed to send them; outcomes record what the
//! attempts did. This file holds the types and the public operations, each a match on the
//! backend; each backend's statements read top to bottom in its own file, and the cursor
//! (`cursor.rs`) holds no SQL. A claim commits at once: nothing here holds a transaction across
//! an HTTP call.

use crate::model::ids::{AppId, DeliveryId, EndpointId, EventId};

mod cursor;
mod outcome;
mod postgres;
mod sql;
mod sqlite;

pub use cursor::ClaimCursor;
pub use outcome::{AttemptOutcome, AttemptRecord, EndpointVerdict, NextStep, RECORD_BATCH};
pub(super) use sql::{claimed_columns, leased_of_event_sql, leased_one_sql, Lease, CLAIMED_JOINS};

use super::{new_id, QueueDb, Store, StoreError};
use crate::model::app::Plan;
use crate::model::controls::SignatureScheme;
use crate::server::clock::now_ms;

/// A leased delivery with everything needed to send it, read when it was claimed (send time).
/// SQLite's read-back lists the fields as a JSON array in `sql::CLAIMED_FIELDS` order, which
/// is this declaration order.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ClaimedDelivery {
    pub delivery_id: DeliveryId,
    pub lease_token: String,
    pub event_id: EventId,
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
    pub app_id: AppId,
    /// Parsed when the row is read, not on every attempt.
    #[sqlx(try_from = "String")]
    pub plan: Plan,
    pub webhook_token: String,
    pub endpoint_id: EndpointId,
    pub url: String,
    pub timeout_secs: i64,
    pub include_payload: bool,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// The facial ID, when the endpoint delivers in order per facial ID.
    pub order_key: Option<String>,
    #[sqlx(try_from = "String")]
    pub signature_scheme: SignatureScheme,
    pub ed25519_secret_key: Option<String>,
    pub previous_ed25519_secret_key: Option<String>,
    /// JSON array of `CustomHeader`s (`[]` when none).
    pub custom_headers: String,
    /// `None`: the operator's schedule.
    pub retry_schedule: Option<String>,
    pub rate_per_sec: Option<i64>,
}

/// What a dispatcher asks of one claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimLimits {
    /// Most deliveries leased.
    pub limit: i64,
    /// Most deliveries the dispatcher may hold per endpoint (claimed, waiting or on the
    /// wire), counting those it holds already.
    pub held_per_endpoint: i64,
    /// Attempts on the wire at once per endpoint: a delivery held behind others waits one
    /// round of that many attempts per place, and its lease covers one timeout per round.
    pub on_wire_per_endpoint: i64,
    /// Added to every lease, for the body read and the write of the outcome.
    pub lease_margin_ms: i64,
}

/// One claim, prepared for either backend.
struct Claim<'a> {
    now: i64,
    token: String,
    limits: ClaimLimits,
    /// Deliveries the claimer holds per endpoint.
    held: &'a [(EndpointId, i64)],
    /// The endpoints the claimer holds its cap of: the claim leaves them out.
    saturated: Vec<&'a str>,
    saturated_json: String,
}

impl<'a> Claim<'a> {
    fn new(held: &'a [(EndpointId, i64)], limits: ClaimLimits) -> Self {
        let saturated: Vec<&str> = held
            .iter()
            .filter(|(_, count)| *count >= limits.held_per_endpoint)
            .map(|(id, _)| id.as_str())
            .collect();
        Claim {
            now: now_ms(),
            token: new_id("lease"),
            limits,
            held,
            saturated_json: json_array(&saturated),
            saturated,
        }
    }
}

/// How many due rows a claim of `limit` looks at. Saturated endpoints are left out by the scan
/// itself, so only the rows of endpoints that fill up during this pick are passed over; once
/// full, the next claim leaves them out too. Scanning twice the limit read, built and parsed
/// hundreds of rows per claim that a lone endpoint could never take.
fn scan_size(limit: i64) -> i64 {
    (limit + 32).clamp(64, 1000)
}

/// `items` as a JSON array of strings. Strings only: serialising cannot fail.
fn json_array<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Leases up to `limits.limit` due deliveries, keeping the deliveries the caller holds
    /// per endpoint (`held`: endpoint id and count) at most `limits.held_per_endpoint`. Each
    /// lease lasts as many of its endpoint's timeouts as rounds of attempts it may wait
    /// through (a delivery held deep behind others waits longer), plus the margin. On
    /// PostgreSQL, replicas skip rows another claim has locked, so a delivery is never leased
    /// twice; SQLite has one writer, which gives the same guarantee. The walk of the due order
    /// starts at `cursor`, which the claim moves past the rows of the caller's saturated
    /// endpoints.
    pub async fn claim_deliveries(
        &self,
        held: &[(EndpointId, i64)],
        limits: ClaimLimits,
        cursor: &mut ClaimCursor,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let claim = Claim::new(held, limits);
        match self.queue_db() {
            QueueDb::Postgres(pool) => postgres::claim(pool, &claim, cursor).await,
            QueueDb::Sqlite { writer, readers } => {
                sqlite::claim(writer, readers, &claim, cursor).await
            }
        }
    }

    /// Writes attempts and their consequences in one transaction. An outcome whose lease was
    /// lost (expired and taken by another worker) is dropped: that worker now owns the row.
    pub async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let finished = outcome::finished_in_order(outcomes);
        match self.queue_db() {
            QueueDb::Sqlite { writer, .. } => {
                // The release goes in the record's own transaction: one writer, one commit.
                if sqlite::record(writer, outcomes, &finished).await? > 0 {
                    self.wake_dispatchers();
                }
            }
            QueueDb::Postgres(pool) => {
                postgres::record(pool, outcomes).await?;
                if let Err(err) = self.release_next_in_order(&finished).await {
                    // Recorded all the same: the sweep releases them shortly.
                    tracing::warn!(error = %err, "releasing the next deliveries in order failed");
                }
            }
        }
        Ok(())
    }
}
