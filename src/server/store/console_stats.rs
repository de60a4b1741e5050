//! Figures for the console and operators: an application's last day by the hour, its
//! endpoints' recent record, the queue's depth and the dispatcher replicas' heartbeats.
//! Aggregates are computed by the database; only a few dozen rows come back.

use crate::model::ids::{AppId, EndpointId};

use super::{on_db, Store, StoreError};

/// The deliveries of one application's events since $2, to endpoint $3 or (NULL) to all, with
/// the hour of their event counted from $2. Test events count only as a last delivery: they
/// say nothing about how real traffic fares.
const RECENT: &str = "SELECT (ev.occurred_at - $2) / 3600000 AS hour, ev.occurred_at, \
     CASE WHEN ev.event_name = 'test' THEN 1 ELSE 0 END AS is_test, \
     d.endpoint_id, d.status, d.last_latency_ms AS latency \
     FROM events ev JOIN deliveries d ON d.event_id = ev.id \
     WHERE ev.app_id = $1 AND ev.occurred_at >= $2 \
     AND (CAST($3 AS TEXT) IS NULL OR d.endpoint_id = $3)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct HourCounts {
    /// Hours since the window's start.
    pub hour: i64,
    pub delivered: i64,
    pub not_delivered: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndpointCounts {
    pub endpoint_id: EndpointId,
    pub total: i64,
    pub delivered: i64,
    pub last_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueDepth {
    pub pending: i64,
    /// Waiting behind an earlier delivery of the same facial ID (ordered endpoints).
    pub held: i64,
    pub retrying: i64,
    pub delivering: i64,
    pub failed: i64,
    pub oldest_pending_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Heartbeat {
    pub replica_id: String,
    pub host: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub delivered_last_minute: i64,
    pub attempts_last_minute: i64,
}

impl Store {
    /// Delivered and not-delivered counts per hour since `since_ms` (to one endpoint, or to
    /// all), and each hour's median latency of delivered attempts (hour, milliseconds); hours
    /// without deliveries are absent.
    pub async fn hourly_delivery_stats(
        &self,
        app_id: &AppId,
        endpoint_id: Option<&EndpointId>,
        since_ms: i64,
    ) -> Result<(Vec<HourCounts>, Vec<(i64, i64)>), StoreError> {
        let counts = format!(
            "SELECT hour, \
             CAST(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS BIGINT) AS delivered, \
             CAST(SUM(CASE WHEN status IN ('failed', 'retrying') THEN 1 ELSE 0 END) AS BIGINT) \
               AS not_delivered \
             FROM ({RECENT}) r WHERE is_test = 0 GROUP BY hour ORDER BY hour"
        );
        let medians = format!(
            "SELECT hour, latency FROM ( \
               SELECT hour, latency, \
                 ROW_NUMBER() OVER (PARTITION BY hour ORDER BY latency) AS place, \
                 COUNT(*) OVER (PARTITION BY hour) AS n \
               FROM ({RECENT}) r \
               WHERE is_test = 0 AND status = 'delivered' AND latency IS NOT NULL \
             ) m WHERE place = (n + 1) / 2 ORDER BY hour"
        );
        let stats = on_db!(self.db(), |pool| {
            let counts = sqlx::query_as::<_, HourCounts>(&counts)
                .bind(app_id)
                .bind(since_ms)
                .bind(endpoint_id)
                .fetch_all(pool)
                .await?;
            let medians = sqlx::query_as::<_, (i64, i64)>(&medians)
                .bind(app_id)
                .bind(since_ms)
                .bind(endpoint_id)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((counts, medians))
        })?;
        Ok(stats)
    }

    /// Per endpoint of `app_id`: deliveries of events since `since_ms` and how many arrived
    /// (test events aside), and when the newest event sent to it, test or not, happened.
    pub async fn endpoint_recent_counts(
        &self,
        app_id: &AppId,
        since_ms: i64,
    ) -> Result<Vec<EndpointCounts>, StoreError> {
        let sql = format!(
            "SELECT endpoint_id, CAST(SUM(1 - is_test) AS BIGINT) AS total, \
             CAST(SUM(CASE WHEN status = 'delivered' AND is_test = 0 THEN 1 ELSE 0 END) \
               AS BIGINT) AS delivered, \
             MAX(occurred_at) AS last_at \
             FROM ({RECENT}) r GROUP BY endpoint_id"
        );
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointCounts>(&sql)
                .bind(app_id)
                .bind(since_ms)
                .bind(None::<&str>)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// The whole queue, every application: each count reads one partial index.
    pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        // `status IN (…) AND status = …` lets SQLite see that the partial index applies.
        let sql = "SELECT \
             (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying') \
               AND status = 'pending') AS pending, \
             (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying') \
               AND status = 'retrying') AS retrying, \
             (SELECT COUNT(*) FROM deliveries WHERE order_key IS NOT NULL \
               AND status IN ('pending', 'retrying', 'delivering', 'held') AND status = 'held') AS held, \
             (SELECT COUNT(*) FROM deliveries WHERE status = 'delivering') AS delivering, \
             (SELECT COUNT(*) FROM deliveries WHERE status = 'failed') AS failed, \
             (SELECT MIN(next_attempt_at) FROM deliveries WHERE status IN ('pending', 'retrying') \
               AND status = 'pending') AS oldest_pending_at";
        let depth = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, QueueDepth>(sql).fetch_one(pool).await
        })?;
        Ok(depth)
    }

    /// Records that a dispatcher replica is alive, with its last minute's work, and forgets
    /// replicas silent since `forget_before_ms`.
    pub async fn put_heartbeat(
        &self,
        beat: &Heartbeat,
        forget_before_ms: i64,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO dispatcher_heartbeats (replica_id, host, started_at, last_seen_at, \
                 delivered_last_minute, attempts_last_minute) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (replica_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
                 delivered_last_minute = excluded.delivered_last_minute, \
                 attempts_last_minute = excluded.attempts_last_minute",
            )
            .bind(&beat.replica_id)
            .bind(&beat.host)
            .bind(beat.started_at)
            .bind(beat.last_seen_at)
            .bind(beat.delivered_last_minute)
            .bind(beat.attempts_last_minute)
            .execute(pool)
            .await?;
            sqlx::query("DELETE FROM dispatcher_heartbeats WHERE last_seen_at < $1")
                .bind(forget_before_ms)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn remove_heartbeat(&self, replica_id: &str) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM dispatcher_heartbeats WHERE replica_id = $1")
                .bind(replica_id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn heartbeats(&self) -> Result<Vec<Heartbeat>, StoreError> {
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, Heartbeat>(
                "SELECT replica_id, host, started_at, last_seen_at, delivered_last_minute, \
                 attempts_last_minute FROM dispatcher_heartbeats ORDER BY started_at, replica_id",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }
}
