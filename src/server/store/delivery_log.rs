//! The read side of deliveries: what was sent where, and every attempt, for the console and
//! for operators. Queries only; the dispatcher's writes live in `deliveries`.

use crate::model::ids::{AppId, DeliveryId, EndpointId, EventId};

use super::queue::{claimed_columns, Lease, CLAIMED_JOINS};
use super::ClaimedDelivery;
use super::{on_db, AttemptRecord, Store, StoreError};
use crate::model::delivery::DeliveryStatus;

/// An attempt as the console lists it: its number, then what it observed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptLogRecord {
    pub id: String,
    pub attempt_number: i64,
    #[sqlx(flatten)]
    pub attempt: AttemptRecord,
}

/// A delivery as the console lists it, with its event and endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryListing {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event_name: String,
    pub facial_id: String,
    pub endpoint_id: EndpointId,
    pub endpoint_url: String,
    pub endpoint_description: String,
    pub endpoint_enabled: bool,
    /// Parsed when the row is read.
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status_code: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    /// Its event's time, by which lists are ordered (read by `list_deliveries` only).
    #[sqlx(default)]
    pub occurred_at: i64,
}

/// Which deliveries of an application to list; `None` matches anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListingFilter<'a> {
    pub status: Option<&'a str>,
    pub event_name: Option<&'a str>,
    pub endpoint_id: Option<&'a EndpointId>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// A delivery ID, event ID or facial ID.
    pub search: Option<&'a str>,
    /// Only deliveries listed after this one (its event's time, its ID): a cursor that
    /// neither skips nor repeats while new deliveries arrive.
    pub after: Option<(i64, &'a str)>,
}

const LISTING_COLUMNS: &str = "d.id, d.event_id, ev.event_name, ev.facial_id, d.endpoint_id, \
     e.url AS endpoint_url, e.description AS endpoint_description, \
     e.enabled AS endpoint_enabled, d.status, d.attempts, \
     d.next_attempt_at, d.last_status_code, d.last_error_class, d.last_latency_ms, \
     d.created_at, d.completed_at";

/// The last attempt's error message of the delivery whose ID is the column `delivery`. Added
/// after a page is cut, so a long list does not look up attempts it will not show.
fn last_error_message(delivery: &str) -> String {
    format!(
        "(SELECT a.error_message FROM delivery_attempts a WHERE a.delivery_id = {delivery} \
         ORDER BY a.attempt_number DESC LIMIT 1) AS last_error_message"
    )
}

/// Deliveries are found through their events: `events_by_app` walks an application's events
/// newest first, so listing needs no index on `deliveries` that intake would have to maintain.
const LISTING_FROM: &str = "FROM events ev JOIN deliveries d ON d.event_id = ev.id \
     JOIN endpoints e ON e.id = d.endpoint_id";

impl Store {
    /// One page of an application's deliveries, newest event first.
    pub async fn list_deliveries(
        &self,
        app_id: &AppId,
        filter: ListingFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DeliveryListing>, StoreError> {
        let sql = format!(
            "SELECT l.*, {last_error} FROM ( \
             SELECT {LISTING_COLUMNS}, ev.occurred_at {LISTING_FROM} \
             WHERE ev.app_id = $1 AND ev.occurred_at >= $2 AND ev.occurred_at < $3 \
             AND (CAST($4 AS TEXT) IS NULL OR d.status = $4) \
             AND (CAST($5 AS TEXT) IS NULL OR ev.event_name = $5) \
             AND (CAST($6 AS TEXT) IS NULL OR d.endpoint_id = $6) \
             AND (CAST($9 AS TEXT) IS NULL OR d.id = $9 OR d.event_id = $9 \
                  OR ev.facial_id = $9) \
             AND (CAST($10 AS BIGINT) IS NULL OR ev.occurred_at < $10 \
                  OR (ev.occurred_at = $10 AND d.id < $11)) \
             ORDER BY ev.occurred_at DESC, d.id DESC LIMIT $7 OFFSET $8) l \
             ORDER BY l.occurred_at DESC, l.id DESC",
            last_error = last_error_message("l.id")
        );
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, DeliveryListing>(&sql)
                .bind(app_id)
                .bind(filter.from_ms.unwrap_or(i64::MIN))
                .bind(filter.to_ms.unwrap_or(i64::MAX))
                .bind(filter.status)
                .bind(filter.event_name)
                .bind(filter.endpoint_id)
                .bind(limit)
                .bind(offset)
                .bind(filter.search)
                .bind(filter.after.map(|(at, _)| at))
                .bind(filter.after.map(|(_, id)| id))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// One delivery of `app_id`; `None` for another application's delivery.
    pub async fn delivery_of_app(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
    ) -> Result<Option<DeliveryListing>, StoreError> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS}, {} {LISTING_FROM} WHERE d.id = $1 AND d.app_id = $2",
            last_error_message("d.id")
        );
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, DeliveryListing>(&sql)
                .bind(delivery_id)
                .bind(app_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// What the dispatcher would read to send this delivery now, for showing its request.
    pub async fn delivery_as_sent(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let columns = claimed_columns(Lease::Any);
        let sql = format!(
            "SELECT {columns} FROM deliveries d {CLAIMED_JOINS} WHERE d.id = $1 AND d.app_id = $2"
        );
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, ClaimedDelivery>(&sql)
                .bind(delivery_id)
                .bind(app_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// The newest deliveries' states and the application's waiting count: when any of it
    /// changes, a live console has something new to show.
    pub async fn recent_delivery_states(
        &self,
        app_id: &AppId,
        limit: i64,
    ) -> Result<(Vec<(String, String, i64)>, i64), StoreError> {
        let recent = "SELECT d.id, d.status, d.attempts FROM events ev \
             JOIN deliveries d ON d.event_id = ev.id WHERE ev.app_id = $1 \
             ORDER BY ev.occurred_at DESC, d.id DESC LIMIT $2";
        // Two counts, each matching a partial index (SQLite uses one only when named).
        let waiting = "SELECT (SELECT COUNT(*) FROM deliveries \
             WHERE status IN ('pending', 'retrying') AND app_id = $1) + \
             (SELECT COUNT(*) FROM deliveries WHERE order_key IS NOT NULL \
             AND status IN ('pending', 'retrying', 'delivering', 'held') AND status = 'held' \
             AND app_id = $1)";
        let states = on_db!(self.db(), |pool| {
            let rows = sqlx::query_as::<_, (String, String, i64)>(recent)
                .bind(app_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let waiting: i64 = sqlx::query_scalar(waiting)
                .bind(app_id)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((rows, waiting))
        })?;
        Ok(states)
    }

    pub async fn deliveries_of_event(
        &self,
        event_id: &EventId,
    ) -> Result<Vec<DeliveryListing>, StoreError> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS}, {} {LISTING_FROM} WHERE d.event_id = $1 ORDER BY d.endpoint_id",
            last_error_message("d.id")
        );
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, DeliveryListing>(&sql)
                .bind(event_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    pub async fn attempts_of_delivery(
        &self,
        delivery_id: &DeliveryId,
    ) -> Result<Vec<AttemptLogRecord>, StoreError> {
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AttemptLogRecord>(
                "SELECT id, attempt_number, started_at, duration_ms, http_version, remote_addr, \
                 status_code, error_class, error_message, response_headers, response_excerpt \
                 FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_number",
            )
            .bind(delivery_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }
}
