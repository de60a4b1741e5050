//! The operational webhook's outbox: one message per alert, leased by a sender while it
//! tries, then delivered, due again later, or failed for good. Kept apart from the event
//! queue: an alert storm never slows event delivery, and these failures never count against
//! any endpoint.

use super::{on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// One leased message, with its organization's signing secret as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpsDelivery {
    pub id: String,
    pub url: String,
    pub body: String,
    pub attempts: i64,
    pub lease_until: i64,
    pub secret: Option<String>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum OpsOutcome {
    Delivered,
    RetryAt(i64),
    Failed,
}

impl Store {
    /// Leases up to `limit` due messages for `lease_ms`; the UPDATE re-checks each row, so
    /// two replicas never lease one message at once.
    pub async fn lease_ops_deliveries(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<OpsDelivery>, StoreError> {
        const DUE: &str = "status = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1)";
        let sql = format!(
            "UPDATE ops_deliveries SET lease_until = $2 WHERE {DUE} AND id IN \
             (SELECT id FROM ops_deliveries WHERE {DUE} ORDER BY next_attempt_at LIMIT $3) \
             RETURNING id, url, body, attempts, lease_until, \
             (SELECT o.ops_webhook_secret FROM organizations o WHERE o.id = org_id) AS secret"
        );
        let now = now_ms();
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, OpsDelivery>(&sql)
                .bind(now)
                .bind(now + lease_ms)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Records an attempt of `delivery`, while its lease is still the one it was sent under.
    pub async fn record_ops_attempt(
        &self,
        delivery: &OpsDelivery,
        outcome: &OpsOutcome,
        status_code: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let (status, next_attempt_at, completed_at) = match outcome {
            OpsOutcome::Delivered => ("delivered", None, Some(now)),
            OpsOutcome::RetryAt(at) => ("pending", Some(*at), None),
            OpsOutcome::Failed => ("failed", None, Some(now)),
        };
        on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE ops_deliveries SET status = $3, attempts = attempts + 1, \
                 next_attempt_at = COALESCE($4, next_attempt_at), completed_at = $5, \
                 lease_until = NULL, last_status_code = $6, last_error = $7 \
                 WHERE id = $1 AND lease_until = $2",
            )
            .bind(&delivery.id)
            .bind(delivery.lease_until)
            .bind(status)
            .bind(next_attempt_at)
            .bind(completed_at)
            .bind(status_code)
            .bind(error)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}
