//! The dispatcher: claims due deliveries under a lease, sends each as a signed POST, and
//! records the attempt and what follows (delivered, retry later, failed, endpoint disabled).
//! Runs without the console: it needs only a `Store`, its settings and the allow list.

mod attempt;
mod heartbeat;
mod lanes;
mod message;
mod metrics;
mod retention;
mod schedule;
mod settings;
mod signature;
mod success_rates;
mod test_event;
mod transport;

pub use message::{build as build_message, example_body, Message, USER_AGENT};
pub use metrics::{DispatchMetrics, MetricsSnapshot, LATENCY_BUCKETS_SECONDS, OUTCOMES};
pub use schedule::RetrySchedule;
pub use settings::DispatchConfig;
pub use signature::{signature_header, SigningKey};
pub use success_rates::{EndpointRate, SuccessRates};
pub use test_event::{TestOutcome, TestSender};
pub use transport::{Transport, TransportError};

use crate::server::clock::now_ms;
use crate::server::store::{AttemptOutcome, ClaimCursor, ClaimLimits, Store, RECORD_BATCH};
use crate::server::targets::AllowList;
use attempt::{AttemptPolicy, Attempts, MS_PER_DAY};
use lanes::{Lanes, ENDPOINT_LOOKAHEAD, LOOKAHEAD};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;

/// Most deliveries one claim leases.
const CLAIM_BATCH: usize = 256;
/// How often expired leases are looked for.
const RECLAIM_EVERY: Duration = Duration::from_secs(1);
/// A lease lasts one endpoint timeout per round of attempts its delivery waits through (its
/// own included) and this margin for the body read and the write of the outcome; only then
/// may another worker take the delivery over.
pub(crate) const LEASE_MARGIN_MS: i64 = 10_000;
/// How long the recorder waits to fill a batch of `RECORD_BATCH` outcomes.
const RECORD_LINGER: Duration = Duration::from_millis(10);
/// Longest wait for attempts in flight to free slots before claiming again.
const REFILL_WAIT: Duration = Duration::from_millis(20);
/// The safety-net poll when no wake-up arrives.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long shutdown waits for attempts in flight before giving their leases back.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running dispatcher; `shutdown` stops it cleanly.
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    metrics: Arc<DispatchMetrics>,
}

impl Dispatcher {
    /// Starts delivering. Fails only on configuration that can never work (an unreadable CA file).
    pub fn start(
        store: Store,
        config: &DispatchConfig,
        allow: AllowList,
    ) -> Result<Self, TransportError> {
        let transport = Transport::new(allow, config.extra_ca_file.as_deref())?;
        Ok(Self::with_transport(store, config, transport))
    }

    /// Starts delivering over `transport`, whose connection pool the caller may share.
    pub fn with_transport(store: Store, config: &DispatchConfig, transport: Transport) -> Self {
        let (stop, stopped) = watch::channel(false);
        let metrics = Arc::new(DispatchMetrics::default());
        let worker = Worker {
            store,
            metrics: metrics.clone(),
            attempts: Attempts {
                transport,
                policy: AttemptPolicy::Scheduled {
                    schedule: config.retry_schedule.clone(),
                    disable_after_ms: (config.disable_failing_after_days * MS_PER_DAY) as i64,
                },
            },
            max_in_flight: config.max_in_flight as usize,
            per_endpoint: i64::from(config.max_in_flight_per_endpoint),
            retention_days: config.retention_days,
        };
        let worker = tokio::spawn(worker.run(stopped));
        Dispatcher {
            stop,
            worker,
            metrics,
        }
    }

    /// What this dispatcher has done since it started, for `/metrics`.
    pub fn metrics(&self) -> Arc<DispatchMetrics> {
        self.metrics.clone()
    }

    /// Stops claiming, lets attempts in flight finish for up to `SHUTDOWN_GRACE`, records
    /// their outcomes and gives back the leases of any that did not finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.worker.await {
            tracing::error!(error = %err, "the dispatcher stopped abnormally");
        }
    }
}

struct Worker {
    store: Store,
    metrics: Arc<DispatchMetrics>,
    attempts: Attempts,
    max_in_flight: usize,
    per_endpoint: i64,
    retention_days: u32,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        // Deliveries held (claimed, waiting for their lane, or on the wire), and attempts on
        // the wire: holding ahead only pays if it never takes the wire from other endpoints.
        let slots = Arc::new(Semaphore::new(worker.max_in_flight * LOOKAHEAD as usize));
        let wire = Arc::new(Semaphore::new(worker.max_in_flight));
        // Lease tokens of deliveries not yet handed to the recorder, with how many: one claim
        // leases many deliveries under one token, which is given back at shutdown while any
        // of them is unfinished.
        let leased: Arc<Mutex<HashMap<String, usize>>> = Default::default();
        // Counted in memory, so a claim can refill an endpoint the moment an attempt ends,
        // without waiting for its outcome to be recorded.
        let lanes = Arc::new(Lanes::new(worker.per_endpoint as usize));
        let recorded = Arc::new(Notify::new());
        let (outcomes, recorder) = spawn_recorder(
            worker.store.clone(),
            worker.metrics.clone(),
            recorded.clone(),
        );
        let heartbeat = heartbeat::spawn(worker.store.clone(), worker.metrics.clone());
        let purger = retention::spawn(worker.store.clone(), worker.retention_days);
        let mut listener = match worker.store.delivery_listener().await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for new deliveries; polling instead");
                None
            }
        };
        let mut attempts = JoinSet::new();
        tracing::info!(backend = worker.store.backend_name(), "dispatcher started");

        let mut last_reclaim: Option<std::time::Instant> = None;
        let mut cursor = ClaimCursor::default();
        let per_endpoint_held = worker.per_endpoint * ENDPOINT_LOOKAHEAD;
        while !*stopped.borrow() {
            while attempts.try_join_next().is_some() {}
            if last_reclaim.is_none_or(|at| at.elapsed() >= RECLAIM_EVERY) {
                last_reclaim = Some(std::time::Instant::now());
                // Reclaimed leases, and another replica's given back, keep their old due
                // times, which may lie behind the cursor.
                cursor.restart();
                match worker.store.reclaim_expired_leases().await {
                    Ok(0) => {}
                    Ok(reclaimed) => {
                        tracing::warn!(reclaimed, "took over deliveries whose lease ran out")
                    }
                    Err(err) => tracing::error!(error = %err, "reclaiming expired leases failed"),
                }
            }
            let free = slots.available_permits().min(CLAIM_BATCH);
            let claimed = if free == 0 {
                Vec::new()
            } else {
                let claimed = worker
                    .store
                    .claim_deliveries(
                        &lanes.held(),
                        ClaimLimits {
                            limit: free as i64,
                            per_endpoint: per_endpoint_held,
                            on_wire_per_endpoint: worker.per_endpoint,
                            lease_margin_ms: LEASE_MARGIN_MS,
                        },
                        &mut cursor,
                    )
                    .await;
                match claimed {
                    Ok(claimed) => claimed,
                    Err(err) => {
                        tracing::error!(error = %err, "claiming deliveries failed");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stopped.changed() => {}
                        }
                        continue;
                    }
                }
            };
            let took_all_it_could = claimed.len() == free;
            let mut filled_a_lane = false;
            if !claimed.is_empty() {
                for delivery in claimed {
                    // Never waits: the claim took no more than the free slots.
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        break;
                    };
                    *lock(&leased)
                        .entry(delivery.lease_token.clone())
                        .or_default() += 1;
                    let (on_wire, held) = lanes.hold(&delivery.endpoint_id);
                    filled_a_lane |= held >= per_endpoint_held;
                    let (worker, outcomes, leased, lanes, wire) = (
                        worker.clone(),
                        outcomes.clone(),
                        leased.clone(),
                        lanes.clone(),
                        wire.clone(),
                    );
                    attempts.spawn(async move {
                        let token = delivery.lease_token.clone();
                        let endpoint_id = delivery.endpoint_id.clone();
                        let outcome = {
                            // Neither semaphore is ever closed.
                            let _lane = on_wire.acquire().await;
                            let _wire = wire.acquire().await;
                            worker.attempts.make(delivery).await
                        };
                        lanes.release(&endpoint_id);
                        // Forgotten only once the recorder has it: a lease still listed at
                        // shutdown is given back.
                        if outcomes.send(outcome).await.is_ok() {
                            forget_lease(&leased, &token);
                        }
                        drop(slot);
                    });
                }
                // A claim that took fewer than it could has taken everything claimable now,
                // unless it filled an endpoint's lane and its walk was full: the walk may have
                // ended in that endpoint's rows (a slow endpoint's backlog ahead of everyone
                // else's), and the next claim, which leaves the endpoint out, reaches the rows
                // behind them. Waiting for attempts to end held a healthy endpoint's first
                // deliveries behind a slow endpoint's backlog for the whole refill wait; with
                // nothing behind (a lone endpoint), claiming again only cost a scan.
                if took_all_it_could || (filled_a_lane && cursor.walk_was_full()) {
                    continue;
                }
            }
            if !attempts.is_empty() {
                // Nothing claimable while attempts are in flight: their endpoints are at
                // their cap, or nothing else is due. Let a quarter of them finish first, so
                // the next claim refills many slots at once instead of one per statement; new
                // deliveries and a short deadline still end the wait at once.
                let enough = (attempts.len() / 4).max(1);
                let deadline = tokio::time::sleep(REFILL_WAIT);
                tokio::pin!(deadline);
                let mut finished = 0;
                while finished < enough {
                    tokio::select! {
                        Some(_) = attempts.join_next() => finished += 1,
                        _ = &mut deadline => break,
                        _ = worker.store.deliveries_committed() => break,
                        _ = announced(&mut listener) => break,
                        _ = stopped.changed() => break,
                    }
                }
                continue;
            }
            let wait = match worker.store.next_due_at().await {
                Ok(Some(at)) => Duration::from_millis((at - now_ms()).max(0) as u64).min(IDLE_POLL),
                Ok(None) => IDLE_POLL,
                Err(_) => Duration::from_secs(1),
            };
            // Due but not claimable with nothing in flight: another replica holds the rows
            // for a moment. Look again shortly rather than spinning.
            let wait = wait.max(Duration::from_millis(5));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = worker.store.deliveries_committed() => {}
                _ = announced(&mut listener) => {}
                _ = recorded.notified() => {}
                _ = attempts.join_next(), if !attempts.is_empty() => {}
                _ = stopped.changed() => {}
            }
        }

        tracing::info!(in_flight = attempts.len(), "dispatcher stopping");
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while attempts.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            attempts.abort_all();
            while attempts.join_next().await.is_some() {}
        }
        drop(outcomes);
        let _ = recorder.await;
        purger.abort();
        heartbeat.stop(&worker.store).await;
        let unfinished: Vec<String> = lock(&leased).drain().map(|(token, _)| token).collect();
        match worker.store.release_leases(&unfinished).await {
            Ok(released) if released > 0 => {
                tracing::info!(released, "gave back the leases of unfinished attempts")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "giving back leases failed; they expire"),
        }
        tracing::info!("dispatcher stopped");
    }
}

async fn announced(listener: &mut Option<crate::server::store::DeliveryListener>) {
    match listener {
        Some(l) => {
            if l.announced().await.is_err() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        None => std::future::pending().await,
    }
}

/// One delivery leased under `token` is with the recorder; the token goes with its last.
fn forget_lease(leased: &Mutex<HashMap<String, usize>>, token: &str) {
    let mut leased = lock(leased);
    if let Some(count) = leased.get_mut(token) {
        *count -= 1;
        if *count == 0 {
            leased.remove(token);
        }
    }
}

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Writes outcomes in batches (one transaction, one fsync for many attempts) and tells the
/// claim loop, since a recorded retry may be due sooner than it planned to look.
fn spawn_recorder(
    store: Store,
    metrics: Arc<DispatchMetrics>,
    recorded: Arc<Notify>,
) -> (mpsc::Sender<AttemptOutcome>, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<AttemptOutcome>(1024);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while receiver.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            // Let more outcomes join for a moment: a transaction costs several round trips
            // (each a thread hop on SQLite), so one for many attempts beats one for each.
            // Nothing waits on the record: slots and lanes were freed when the attempt ended.
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
            recorded.notify_one();
        }
    });
    (sender, task)
}
