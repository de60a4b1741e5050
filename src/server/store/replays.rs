//! Sending deliveries again on an owner's request: one delivery now, or every failed delivery
//! of an endpoint since a time, in small batches. Each goes back to the queue as `pending`;
//! the dispatcher does the sending, so a replay survives restarts like any delivery.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// Failed deliveries of endpoint $1 created since $2, test events aside: a console test is
/// never sent twice. `deliveries_failed` holds exactly these rows. Those in line per facial ID
/// (`order_key`) are replayed one at a time (`replay_in_order`), the rest in bulk.
const REPLAYABLE: &str = "endpoint_id = $1 AND status = 'failed' AND created_at >= $2 \
     AND NOT EXISTS (SELECT 1 FROM events ev WHERE ev.id = deliveries.event_id \
     AND ev.event_name = 'test')";

/// Rows per replay statement, so a large replay never holds the write lock for long.
const REPLAY_BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayCounts {
    pub total: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl Store {
    /// Puts one delivery of `app_id` back in the queue, due now; the next attempt keeps its
    /// `webhook-id`. False when it is not the application's or is being sent right now.
    pub async fn redeliver(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
    ) -> Result<bool, StoreError> {
        // A finished delivery in line for its facial ID goes to the back of that line. Of the
        // unfinished ones only the first (waiting or retrying) may go now: it is first already;
        // a held one would overtake the one in front of it.
        if self.requeue_in_order(app_id, delivery_id, None).await? {
            return Ok(true);
        }
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, \
                 completed_at = NULL WHERE id = $1 AND app_id = $2 AND status <> 'delivering' \
                 AND (order_key IS NULL OR status IN ('pending', 'retrying'))",
            )
            .bind(delivery_id)
            .bind(app_id)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if affected > 0 {
            self.wake_dispatchers();
        }
        Ok(affected > 0)
    }

    pub async fn count_replayable(
        &self,
        endpoint_id: &EndpointId,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM deliveries WHERE {}", REPLAYABLE);
        let count = on_db!(self.db(), |pool| {
            sqlx::query_scalar::<_, i64>(&sql)
                .bind(endpoint_id)
                .bind(since_ms)
                .fetch_one(pool)
                .await
        })?;
        Ok(count)
    }

    /// Queues every replayable delivery again under a new replay id; returns it and the count.
    pub async fn replay_failed(
        &self,
        endpoint_id: &EndpointId,
        since_ms: i64,
    ) -> Result<(String, i64), StoreError> {
        let replay_id = new_id("rpl");
        let sql = format!(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, completed_at = NULL, \
             replay_id = $4 WHERE id IN (SELECT id FROM deliveries WHERE {REPLAYABLE} \
             AND order_key IS NULL LIMIT $5)"
        );
        let mut total = self
            .replay_in_order(endpoint_id, since_ms, &replay_id)
            .await?;
        loop {
            let affected = on_db!(self.db(), |pool| {
                sqlx::query(&sql)
                    .bind(endpoint_id)
                    .bind(since_ms)
                    .bind(now_ms())
                    .bind(&replay_id)
                    .bind(REPLAY_BATCH)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            })?;
            total += i64::try_from(affected).unwrap_or(i64::MAX);
            if affected > 0 {
                self.wake_dispatchers();
            }
            if affected < REPLAY_BATCH as u64 {
                break;
            }
        }
        Ok((replay_id, total))
    }

    /// Where the deliveries of one replay of `app_id` are now.
    /// Replays the failed deliveries in line per facial ID one at a time, oldest first, each
    /// to the back of its line: they go out in event order, behind what is unfinished.
    async fn replay_in_order(
        &self,
        endpoint_id: &EndpointId,
        since_ms: i64,
        replay_id: &str,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT id, app_id FROM deliveries WHERE {} AND order_key IS NOT NULL \
             ORDER BY created_at, id LIMIT $3",
            REPLAYABLE
        );
        let mut total = 0;
        loop {
            let rows: Vec<(DeliveryId, AppId)> = on_db!(self.db(), |pool| {
                sqlx::query_as(&sql)
                    .bind(endpoint_id)
                    .bind(since_ms)
                    .bind(REPLAY_BATCH)
                    .fetch_all(pool)
                    .await
            })?;
            let mut moved = 0;
            for (delivery_id, app_id) in &rows {
                if self
                    .requeue_in_order(app_id, delivery_id, Some(replay_id))
                    .await?
                {
                    moved += 1;
                }
            }
            total += moved;
            if (rows.len() as i64) < REPLAY_BATCH || moved == 0 {
                return Ok(total);
            }
        }
    }

    pub async fn replay_counts(
        &self,
        app_id: &AppId,
        replay_id: &str,
    ) -> Result<ReplayCounts, StoreError> {
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT status, COUNT(*) FROM deliveries WHERE replay_id = $1 AND app_id = $2 \
                 GROUP BY status",
            )
            .bind(replay_id)
            .bind(app_id)
            .fetch_all(pool)
            .await
        })?;
        let count = |status: &str| {
            rows.iter()
                .filter(|(s, _)| s == status)
                .map(|(_, n)| n)
                .sum()
        };
        Ok(ReplayCounts {
            total: rows.iter().map(|(_, n)| n).sum(),
            delivered: count("delivered"),
            failed: count("failed"),
        })
    }

    /// Turns an endpoint of `app_id` back on, forgetting why it was off and its failure run;
    /// its waiting deliveries are sent again at once.
    pub async fn reenable_endpoint(
        &self,
        app_id: &AppId,
        endpoint_id: &EndpointId,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE endpoints SET enabled = TRUE, disabled_at = NULL, disabled_reason = NULL, \
                 failing_since = NULL, consecutive_failures = 0, last_success_at = NULL \
                 WHERE app_id = $1 AND id = $2",
            )
            .bind(app_id)
            .bind(endpoint_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if affected > 0 {
            self.wake_dispatchers();
        }
        Ok(affected > 0)
    }
}
