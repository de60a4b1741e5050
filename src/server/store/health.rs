//! Whether the database can take writes now: failures that mean "not now" (a full disk, a
//! read-only file, a lost connection) told apart from faults, and the readiness probe.

use super::{on_db, Store, StoreError};
use crate::server::clock::now_ms;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long readiness waits for its probe write before saying the database is unavailable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// A probe's verdict is reused this long, so a flood of `/readyz` costs one write a second.
const PROBE_REUSE: Duration = Duration::from_secs(1);

impl StoreError {
    /// The database cannot serve this now but may shortly (full disk, read-only, connection
    /// lost, pool exhausted, server shutting down): the caller should answer 503 and retry
    /// later, not report a fault.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::WriterStopped => true,
            StoreError::Database(err) => is_unavailable(err),
            _ => false,
        }
    }
}

/// See `StoreError::is_unavailable`.
pub(super) fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Primary result codes: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN.
                let primary = code.parse::<i32>().unwrap_or(0) & 0xff;
                matches!(primary, 5 | 6 | 7 | 8 | 10 | 13 | 14)
            } else {
                // SQLSTATE classes: connection exception, insufficient resources (disk full,
                // out of memory, too many connections), operator intervention (shutdown),
                // system error; and a read-only transaction (a standby).
                ["08", "53", "57", "58"]
                    .iter()
                    .any(|class| code.starts_with(class))
                    || code == "25006"
            }
        }
        _ => false,
    }
}

/// The last probe's verdict and when it was taken.
#[derive(Debug, Default)]
pub(super) struct ProbeCache(tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>);

impl Store {
    /// Readiness: one small committed write within `PROBE_TIMEOUT`, so a full disk, a
    /// read-only file or a standby says unavailable although it still answers reads. On
    /// SQLite the write goes through the event writer's connection, in turn with event
    /// batches, and a failure there replaces that connection; while the writer's last batch
    /// failed for want of space or access, the probe writes a ballast as large as a burst of
    /// events, and only its success says ready again.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        let mut cached = self.probe_cache.0.lock().await;
        if let Some((at, verdict)) = cached.as_ref() {
            if at.elapsed() < PROBE_REUSE {
                return verdict.clone().map_err(StoreError::Unavailable);
            }
        }
        let verdict = match tokio::time::timeout(PROBE_TIMEOUT, self.probe_write()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!(
                "no write committed within {} ms",
                PROBE_TIMEOUT.as_millis()
            )),
        };
        *cached = Some((Instant::now(), verdict.clone()));
        verdict.map_err(StoreError::Unavailable)
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        const PROBE: &str = "INSERT INTO writer_probe (id, written_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at";
        // As large as a burst of events: a full disk can still take a few bytes.
        const BALLAST_PROBE: &str = "INSERT INTO writer_probe (id, written_at, ballast) \
             VALUES (2, $1, randomblob(262144)) \
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at, \
             ballast = excluded.ballast";
        match (&self.db, &self.sqlite_writer) {
            (_, Some(writer)) => {
                let failing = self.sqlite_writes_failing.load(Ordering::Relaxed);
                let probe = if failing { BALLAST_PROBE } else { PROBE };
                let mut conn = writer.acquire().await?;
                let written = sqlx::query(probe).bind(now_ms()).execute(&mut *conn).await;
                if written.is_err() {
                    // The next batch starts on a fresh connection, in no half-open transaction.
                    let _ = conn.close().await;
                }
                written?;
                if failing {
                    self.sqlite_writes_failing.store(false, Ordering::Relaxed);
                }
            }
            (db, None) => {
                on_db!(db, |pool| sqlx::query(PROBE)
                    .bind(now_ms())
                    .execute(pool)
                    .await
                    .map(|_| ()))?;
            }
        }
        Ok(())
    }
}
