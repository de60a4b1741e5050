//! The recorder: writes attempts' outcomes in batches (one transaction, one fsync for many
//! attempts) and tells the claim loop, since a recorded retry may be due sooner than it planned
//! to look. Nothing waits on a record: slots and lanes are freed when the attempt ends.

use super::DispatchMetrics;
use crate::server::clock::now_ms;
use crate::server::store::{AttemptOutcome, Store, RECORD_BATCH};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

/// How long the recorder waits to fill a batch of `RECORD_BATCH` outcomes.
const RECORD_LINGER: Duration = Duration::from_millis(10);

pub(super) struct Recorder {
    outcomes: mpsc::Sender<AttemptOutcome>,
    recorded: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Recorder {
    /// Where attempts hand their outcomes.
    pub fn sender(&self) -> mpsc::Sender<AttemptOutcome> {
        self.outcomes.clone()
    }

    /// Completes when a batch has been recorded since the last call returned.
    pub async fn recorded(&self) {
        self.recorded.notified().await
    }

    /// Records what was handed over and stops (once every sender is gone).
    pub async fn finish(self) {
        drop(self.outcomes);
        let _ = self.task.await;
    }
}

pub(super) fn spawn(store: Store, metrics: Arc<DispatchMetrics>) -> Recorder {
    let (outcomes, mut receiver) = mpsc::channel::<AttemptOutcome>(1024);
    let recorded = Arc::new(Notify::new());
    let notify = recorded.clone();
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while receiver.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            // Let more outcomes join for a moment: a transaction costs several round trips
            // (each a thread hop on SQLite), so one for many attempts beats one for each.
            let linger = tokio::time::sleep(RECORD_LINGER);
            tokio::pin!(linger);
            while batch.len() < RECORD_BATCH {
                let room = RECORD_BATCH - batch.len();
                tokio::select! {
                    added = receiver.recv_many(&mut batch, room) => {
                        if added == 0 {
                            break;
                        }
                    }
                    _ = &mut linger => break,
                }
            }
            metrics.record(&batch, now_ms());
            record_batch(&store, &batch).await;
            batch.clear();
            notify.notify_one();
        }
    });
    Recorder {
        outcomes,
        recorded,
        task,
    }
}

/// Records a batch, retrying while the database is away. A batch that still fails is written
/// one outcome at a time, so one row the database refuses never costs the others their record;
/// an outcome refused alone is written without the receiver's text as a last resort.
async fn record_batch(store: &Store, batch: &[AttemptOutcome]) {
    for tries in 1..=5u64 {
        match store.record_attempts(batch).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, tries, "recording attempts failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
        }
    }
    for outcome in batch {
        let alone = std::slice::from_ref(outcome);
        if store.record_attempts(alone).await.is_ok() {
            continue;
        }
        let bare = outcome.without_receiver_text();
        if let Err(err) = store.record_attempts(std::slice::from_ref(&bare)).await {
            // The lease expires and the delivery is sent again: at least once.
            tracing::error!(error = %err, delivery = %outcome.delivery_id, "recording an attempt failed");
        }
    }
}
