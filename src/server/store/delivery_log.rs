//! The read side of deliveries: what was sent where, and every attempt, for the console and
//! for operators. Queries only; the dispatcher's writes live in `deliveries`.

use super::{on_db, AttemptRecord, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub app_id: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status_code: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

/// An attempt as the console lists it: its number, then what it observed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptLogRecord {
    pub id: String,
    pub attempt_number: i64,
    #[sqlx(flatten)]
    pub attempt: AttemptRecord,
}

const DELIVERY_COLUMNS: &str = "id, event_id, endpoint_id, app_id, status, attempts, \
     next_attempt_at, last_status_code, last_error_class, last_latency_ms, created_at, completed_at";

impl Store {
    pub async fn deliveries_of_event(
        &self,
        event_id: &str,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id"
        );
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, DeliveryRecord>(&sql)
                .bind(event_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    pub async fn attempts_of_delivery(
        &self,
        delivery_id: &str,
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
