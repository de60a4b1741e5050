//! Each dispatcher replica says it is alive every few seconds, with its last minute's work,
//! so operators see every replica and the cluster's delivery rate in one place.

use super::metrics::DispatchMetrics;
use super::rate::RateLimits;
use crate::server::clock::now_ms;
use crate::server::store::{new_id, Heartbeat, Store};
use std::sync::Arc;
use std::time::Duration;

pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// Replicas silent for this long are dropped from the list.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

pub struct HeartbeatTask {
    replica_id: String,
    task: tokio::task::JoinHandle<()>,
}

/// Beats every `HEARTBEAT_EVERY`, and counts the replicas alive for the rate limits' shares.
pub fn spawn(store: Store, metrics: Arc<DispatchMetrics>, rates: Arc<RateLimits>) -> HeartbeatTask {
    let replica_id = new_id("rep");
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let started_at = now_ms();
    let id = replica_id.clone();
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            ticks.tick().await;
            let now = now_ms();
            let (delivered, attempts) = metrics.last_minute(now);
            let beat = Heartbeat {
                replica_id: id.clone(),
                host: format!("{host} (pid {})", std::process::id()),
                started_at,
                last_seen_at: now,
                delivered_last_minute: i64::try_from(delivered).unwrap_or(i64::MAX),
                attempts_last_minute: i64::try_from(attempts).unwrap_or(i64::MAX),
            };
            if let Err(err) = store.put_heartbeat(&beat, now - FORGET_AFTER_MS).await {
                tracing::warn!(error = %err, "writing the dispatcher heartbeat failed");
            }
            if let Ok(beats) = store.heartbeats().await {
                let alive_since = now - 3 * HEARTBEAT_EVERY.as_millis() as i64;
                let alive = beats
                    .iter()
                    .filter(|b| b.last_seen_at >= alive_since)
                    .count();
                rates.set_replicas(alive as u64);
            }
        }
    });
    HeartbeatTask { replica_id, task }
}

impl HeartbeatTask {
    /// Stops beating and removes this replica from the list: it is gone, not late.
    pub async fn stop(self, store: &Store) {
        self.task.abort();
        let _ = self.task.await;
        if let Err(err) = store.remove_heartbeat(&self.replica_id).await {
            tracing::warn!(error = %err, "removing the dispatcher heartbeat failed");
        }
    }
}
