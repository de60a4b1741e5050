//! Retention: events older than `FACEHOOK_RETENTION_DAYS`, with their deliveries and
//! attempts, are deleted in small batches so the purge never holds the database for long.

use crate::server::clock::now_ms;
use crate::server::store::Store;
use std::time::Duration;

const BATCH: i64 = 500;
const EVERY: Duration = Duration::from_secs(3600);

pub fn spawn(store: Store, retention_days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let cutoff = now_ms() - i64::from(retention_days) * 86_400_000;
            let mut purged = 0u64;
            loop {
                match store.purge_events_before(cutoff, BATCH).await {
                    Ok(0) => break,
                    Ok(n) => purged += n,
                    Err(err) => {
                        tracing::warn!(error = %err, "purging old events failed");
                        break;
                    }
                }
                // Let requests and deliveries in between batches.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if purged > 0 {
                tracing::info!(purged, retention_days, "purged old events");
            }
        }
    })
}
