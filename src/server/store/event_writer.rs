//! The event writer: events from concurrent requests gathered into shared transactions, one
//! durable commit per group, on either backend. A request is answered only after the commit
//! that holds its event, and one event's failure never touches another's.

use super::events::{BatchConnection, EventJob, RecordOutcome};
use super::handoff::{Handed, HandoffSlot};
use super::StoreError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify, Semaphore};

/// Events waiting for a writer, at most; a request past them waits to be queued.
const QUEUED: usize = 512;

/// Times a batch's events that lost a deadlock (or a serialization failure) are written
/// again, each time in a new transaction, before they fail.
const DEADLOCK_RETRIES: usize = 3;

/// Who hears that a batch committed new deliveries: this process's dispatcher, and on
/// PostgreSQL the announcer that tells other replicas.
pub(super) type Wake = Vec<Arc<Notify>>;

/// Where a batch's news goes: the dispatchers to wake for deliveries left to claim, and this
/// process's dispatcher, to which deliveries may be handed leased (`handoff`).
#[derive(Clone)]
pub(super) struct Listeners {
    pub wake: Wake,
    pub handoff: HandoffSlot,
}

/// Starts the task that writes events: while fewer than `writers` batches are being written,
/// it takes whatever events are waiting (up to `max_batch`, which bounds how long the first
/// one waits) and writes them in one transaction. Events arriving while every writer is busy gather into the next batch, so a
/// lone event waits for nothing and a burst shares commits. SQLite has one writer
/// connection, so one batch at a time; PostgreSQL writes several at once.
pub(super) fn spawn<DB>(
    pool: sqlx::Pool<DB>,
    writers: usize,
    max_batch: usize,
    listeners: Listeners,
    failing: Arc<AtomicBool>,
) -> mpsc::Sender<EventJob>
where
    DB: sqlx::Database,
    DB::Connection: BatchConnection,
{
    let (sender, mut jobs) = mpsc::channel::<EventJob>(QUEUED);
    tokio::spawn(async move {
        let writing = Arc::new(Semaphore::new(writers.max(1)));
        loop {
            let Ok(writer) = writing.clone().acquire_owned().await else {
                return;
            };
            let mut batch = Vec::with_capacity(max_batch);
            if jobs.recv_many(&mut batch, max_batch).await == 0 {
                return;
            }
            let (pool, listeners, failing) = (pool.clone(), listeners.clone(), failing.clone());
            tokio::spawn(async move {
                write_and_answer(&pool, batch, &listeners, &failing).await;
                drop(writer);
            });
        }
    });
    sender
}

async fn write_and_answer<DB>(
    pool: &sqlx::Pool<DB>,
    mut batch: Vec<EventJob>,
    listeners: &Listeners,
    failing: &AtomicBool,
) where
    DB: sqlx::Database,
    DB::Connection: BatchConnection,
{
    // Stable: one facial ID's events keep their arrival order.
    batch.sort_by(|a, b| a.lock_key().cmp(&b.lock_key()));
    let (outcomes, handed_over) = write_batch(pool, &batch, &listeners.handoff).await;
    // Readiness reads this: unavailable until a write of a batch's size succeeds.
    if outcomes
        .iter()
        .any(|o| matches!(o, Err(err) if err.is_unavailable()))
    {
        failing.store(true, Ordering::Relaxed);
    } else if outcomes.iter().any(|o| o.is_ok()) {
        failing.store(false, Ordering::Relaxed);
    }
    let committed: u64 = outcomes
        .iter()
        .map(|o| match o {
            Ok(RecordOutcome::Recorded(r)) => r.deliveries,
            _ => 0,
        })
        .sum();
    // Deliveries handed over are leased already: only the rest wait for a claim.
    if committed > handed_over {
        for listener in &listeners.wake {
            listener.notify_one();
        }
    }
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let _ = job.respond.send(outcome);
    }
}

type BatchOutcomes = Vec<Result<RecordOutcome, StoreError>>;

/// A batch's answers, and the deliveries its committed transactions leased to this process's
/// dispatcher.
#[derive(Default)]
struct Written {
    outcomes: BatchOutcomes,
    handed: Vec<Handed>,
}

/// Starts deliveries handed over as soon as their transaction has committed (not after a
/// later retry of the batch's deadlock victims): how many.
fn start_all(handed: Vec<Handed>) -> u64 {
    let count = handed.len() as u64;
    for delivery in handed {
        delivery.start();
    }
    count
}

/// Each job's answer, and how many deliveries were handed to this process's dispatcher.
async fn write_batch<DB>(
    pool: &sqlx::Pool<DB>,
    batch: &[EventJob],
    handoff: &HandoffSlot,
) -> (BatchOutcomes, u64)
where
    DB: sqlx::Database,
    DB::Connection: BatchConnection,
{
    let jobs: Vec<&EventJob> = batch.iter().collect();
    let Written {
        mut outcomes,
        handed,
    } = write_group(pool, &jobs, handoff).await;
    let mut handed_over = start_all(handed);
    // A PostgreSQL batch can lose a deadlock to another (two idempotency keys met in opposite
    // orders): its victims hold nothing once their transaction ended, so they go again.
    for _ in 0..DEADLOCK_RETRIES {
        let lost: Vec<usize> = (0..outcomes.len())
            .filter(|&i| matches!(&outcomes[i], Err(err) if lost_a_race(err)))
            .collect();
        if lost.is_empty() {
            break;
        }
        let again: Vec<&EventJob> = lost.iter().map(|&i| jobs[i]).collect();
        let written = write_group(pool, &again, handoff).await;
        handed_over += start_all(written.handed);
        for (i, outcome) in lost.into_iter().zip(written.outcomes) {
            outcomes[i] = outcome;
        }
    }
    (outcomes, handed_over)
}

/// Writes `jobs` in one transaction, or if one fails there, each isolated in its own
/// savepoint of a second one; an answer for every job.
async fn write_group<DB>(
    pool: &sqlx::Pool<DB>,
    jobs: &[&EventJob],
    handoff: &HandoffSlot,
) -> Written
where
    DB: sqlx::Database,
    DB::Connection: BatchConnection,
{
    let mut written = match write_on_fresh_state(pool, jobs, false, handoff).await {
        Some(written) => written,
        // With every event isolated, a failure is that event's answer: never `None`.
        None => write_on_fresh_state(pool, jobs, true, handoff)
            .await
            .unwrap_or_default(),
    };
    written
        .outcomes
        .resize_with(jobs.len(), || Err(StoreError::WriterStopped));
    written
}

/// A deadlock or serialization failure: the database chose this transaction to end so that
/// another could go on, and the same writes succeed when tried again.
fn lost_a_race(err: &StoreError) -> bool {
    matches!(err, StoreError::Database(sqlx::Error::Database(db))
        if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// A pooled connection that is closed rather than returned to the pool unless its batch
/// ended cleanly: a task cut short between `BEGIN` and `COMMIT` must never hand a
/// half-written transaction to the pool's next user, whose `COMMIT` would commit it.
struct CloseUnlessClean<DB: sqlx::Database>(Option<sqlx::pool::PoolConnection<DB>>);

impl<DB: sqlx::Database> CloseUnlessClean<DB> {
    fn clean(mut self) {
        drop(self.0.take());
    }
}

impl<DB: sqlx::Database> Drop for CloseUnlessClean<DB> {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.0 {
            conn.close_on_drop();
        }
    }
}

/// `write_batch_with` on a pooled connection. After any failure that connection is closed and
/// the next batch opens a new one: a failed write (a full disk, an I/O error) can end SQLite's
/// transaction behind the driver's back, and a connection reused in that state answered later
/// "commits" inside a transaction that was never committed.
async fn write_on_fresh_state<DB>(
    pool: &sqlx::Pool<DB>,
    batch: &[&EventJob],
    isolate_all: bool,
    handoff: &HandoffSlot,
) -> Option<Written>
where
    DB: sqlx::Database,
    DB::Connection: BatchConnection,
{
    let mut conn = match pool.acquire().await {
        Ok(conn) => CloseUnlessClean(Some(conn)),
        Err(err) => return Some(failed_all(batch.len(), &err)),
    };
    let written = match conn.0.as_mut() {
        Some(open) => write_batch_with(&mut **open, batch, isolate_all, handoff).await,
        None => None,
    };
    if written
        .as_ref()
        .is_some_and(|all| all.outcomes.iter().all(|o| o.is_ok()))
    {
        conn.clean();
    }
    written
}

/// Writes a batch in one transaction. An event refused for an unknown or taken facial ID has
/// written nothing, so only events with an idempotency key (whose conflict is found after
/// their writes) need a savepoint — unless `isolate_all`, which gives every event one so its
/// failure never touches another's. Without `isolate_all`, a failed statement abandons the
/// batch and answers `None`: write it again isolated. Deliveries leased to this process's
/// dispatcher are handed over only with a commit; dropped, they free their places.
async fn write_batch_with<C: BatchConnection + ?Sized>(
    conn: &mut C,
    batch: &[&EventJob],
    isolate_all: bool,
    handoff: &HandoffSlot,
) -> Option<Written> {
    if let Err(err) = conn.execute("BEGIN").await {
        return Some(failed_all(batch.len(), &err));
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut handed = Vec::new();
    for &job in batch {
        // Asked per event: a batch can fill the dispatcher.
        let room = handoff.with_room();
        let applied = if isolate_all || job.needs_savepoint() {
            if let Err(err) = conn.execute("SAVEPOINT event").await {
                return Some(failed_all(batch.len(), &err));
            }
            let applied = conn.apply(job, room.as_deref()).await;
            if !matches!(&applied, Ok(a) if matches!(a.outcome, RecordOutcome::Recorded(_))) {
                if let Err(err) = conn.execute("ROLLBACK TO SAVEPOINT event").await {
                    return Some(failed_all(batch.len(), &err));
                }
            }
            if let Err(err) = conn.execute("RELEASE SAVEPOINT event").await {
                return Some(failed_all(batch.len(), &err));
            }
            applied
        } else {
            // The connection is closed, which rolls back whatever was half-written.
            Ok(conn.apply(job, room.as_deref()).await.ok()?)
        };
        outcomes.push(match applied {
            Ok(applied) => {
                handed.extend(applied.handed);
                Ok(applied.outcome)
            }
            Err(err) => Err(StoreError::from(err)),
        });
    }
    Some(match conn.execute("COMMIT").await {
        Ok(()) => Written { outcomes, handed },
        Err(err) => failed_all(batch.len(), &err),
    })
}

/// Every event of a batch fails when the batch's own transaction does: as unavailable when
/// the database cannot take writes now (the client retries), else as a fault.
fn failed_all(count: usize, err: &sqlx::Error) -> Written {
    let message = err.to_string();
    let unavailable = super::health::is_unavailable(err);
    let outcomes = (0..count)
        .map(|_| {
            Err(if unavailable {
                StoreError::Unavailable(message.clone())
            } else {
                StoreError::Batch(message.clone())
            })
        })
        .collect();
    Written {
        outcomes,
        handed: Vec::new(),
    }
}
