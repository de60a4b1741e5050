//! The delivery queue's upkeep: give leases back, take over expired ones, find the next due
//! time, purge old history, and hear other replicas' news. Claims live in `claims`; nothing
//! here holds a transaction across an HTTP call.

use super::{on_db, on_queue_writer, Db, Store, StoreError};
use crate::model::ids::DeliveryId;
use crate::server::clock::now_ms;

impl Store {
    /// Gives leased deliveries back untouched, e.g. when shutting down mid-attempt.
    pub async fn release_leases(&self, lease_tokens: &[String]) -> Result<u64, StoreError> {
        let mut released = 0;
        for token in lease_tokens {
            released += on_queue_writer!(self.queue_db(), |pool| {
                sqlx::query(
                    "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, \
                     status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END \
                     WHERE status = 'delivering' AND lease_token = $1",
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
    /// keeping their due time, so they are due at once. Their late outcome, if it ever comes,
    /// no longer matches the lease.
    pub async fn reclaim_expired_leases(&self) -> Result<u64, StoreError> {
        let reclaimed = on_queue_writer!(self.queue_db(), |pool| {
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

    /// Gives back the lease of a delivery not attempted (its endpoint's rate left no turn for
    /// it soon enough), due again at `at`; `false` if the lease was lost meanwhile.
    pub async fn postpone(
        &self,
        delivery_id: &DeliveryId,
        lease_token: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let postponed = on_queue_writer!(self.queue_db(), |pool| {
            sqlx::query(
                "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, next_attempt_at = $3, \
                 status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END \
                 WHERE id = $1 AND lease_token = $2 AND status = 'delivering'",
            )
            .bind(delivery_id)
            .bind(lease_token)
            .bind(at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(postponed > 0)
    }

    /// When the next delivery becomes due (or a lease expires, or a paused endpoint resumes),
    /// if any is waiting. Deliveries of a paused endpoint are due only when it resumes.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let next: Option<i64> = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT MIN(t) FROM ( \
                   SELECT MIN(d.next_attempt_at) AS t FROM deliveries d \
                   JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
                   AND (e.paused_until IS NULL OR e.paused_until <= $1) \
                   WHERE d.status IN ('pending', 'retrying') \
                   UNION ALL \
                   SELECT MIN(e.paused_until) AS t FROM endpoints e \
                   WHERE e.enabled AND e.paused_until > $1 \
                   UNION ALL \
                   SELECT MIN(lease_until) AS t FROM deliveries WHERE status = 'delivering') due",
            )
            .bind(now_ms())
            .fetch_one(pool)
            .await
        })?;
        Ok(next)
    }

    /// Deletes up to `batch` events that happened before `cutoff_ms`, with their deliveries
    /// and attempts; returns how many went, so the caller can repeat until none do. An event
    /// still in an enabled endpoint's ordered line stays: a facial ID's line behind a failing
    /// delivery can outlast retention. (A disabled endpoint's waiting deliveries go with their
    /// events, as they always have: nothing would ever send them.)
    pub async fn purge_events_before(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        let purged = on_db!(self.db(), |pool| {
            sqlx::query(
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events WHERE occurred_at < $1 \
                  AND NOT EXISTS (SELECT 1 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
                    WHERE d.event_id = events.id AND e.enabled AND d.order_key IS NOT NULL \
                    AND d.status IN ('pending', 'retrying', 'delivering', 'held')) \
                  ORDER BY occurred_at LIMIT $2)",
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
