//! Persistence behind one API for SQLite and PostgreSQL; one submodule per aggregate.
//! Knows SQL and nothing of HTTP, sessions or the UI. Times are UTC Unix milliseconds.

mod account_sessions;
mod accounts;
mod admin;
mod alert_raise;
mod alerts;
mod api_tokens;
mod apps;
mod audit;
mod console_stats;
mod deliveries;
mod delivery_log;
mod email_verifications;
mod endpoints;
mod event_writer;
mod events;
mod facial_ids;
mod handoff;
mod health;
mod invitations;
mod login_failures;
mod mail_outbox;
mod notices;
mod ops_deliveries;
mod ordering;
mod orgs;
mod password_resets;
mod queue;
mod replays;
mod test_events;
mod two_factor;

pub use account_sessions::{AccountSessionRecord, SignInAddress};
pub use accounts::{AccountRecord, NewAccount};
pub use admin::AccountOverview;
pub use alert_raise::{NewAlert, NewEpisode};
pub use alerts::{
    AlertRecord, EndpointFacts, ExhaustedBatch, OpenEndpointEpisode, OWNER_DISABLED_REASON,
};
pub use api_tokens::{ApiTokenRecord, KeyState, NewApiToken, MAX_TOKENS_PER_ORG};
pub use apps::{AppListing, AppRecord, NewAppCredentials};
pub use audit::{AuditFilter, AuditRecord, NewAuditEntry};
pub use console_stats::{EndpointCounts, Heartbeat, HourCounts, QueueDepth};
pub use deliveries::DeliveryListener;
pub use delivery_log::{AttemptLogRecord, DeliveryListing, ListingFilter};
pub use endpoints::{EndpointRecord, EndpointSettings, NewSigningKeys};
pub use events::{
    IdempotencyKey, NewEvent, RecordOutcome, RecordedEvent, RegistryChange, ReplyRenderer,
    StoredReply,
};
pub use facial_ids::FacialIdRecord;
pub use handoff::{DeliveryHandoff, Reservation};
pub use invitations::{InvitationRecord, NewInvitation};
pub use login_failures::AttemptLimit;
pub use mail_outbox::{OutgoingMail, QueuedMail};
pub use notices::NoticeKind;
pub use ops_deliveries::{OpsDelivery, OpsOutcome};
pub use ordering::OrderKey;
pub use orgs::{MemberChange, MemberRecord, MembershipRecord, OrgOverview, RolesNow};
pub use queue::{
    AttemptOutcome, AttemptRecord, ClaimCursor, ClaimLimits, ClaimedDelivery, EndpointVerdict,
    NextStep, RECORD_BATCH,
};
pub use replays::ReplayCounts;

use crate::server::clock::now_ms;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres:, got {0:?}")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("session store migration failed: {0}")]
    SessionStore(String),
    #[error("the event writer has stopped")]
    WriterStopped,
    #[error("event batch failed: {0}")]
    Batch(String),
    /// The database cannot take writes now (see `is_unavailable`); the cause, for the log.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// A connection pool to one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same generic sqlx code against whichever pool `db` holds. Both arms are
/// type-checked, so a query that does not compile for one backend fails the build.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::server::store::Db::Sqlite($pool) => $body,
            $crate::server::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// Where the dispatcher claims deliveries and records attempts.
#[derive(Clone, Debug)]
pub(crate) enum QueueDb {
    /// Claims and outcome batches write in turn on one connection of their own (see
    /// `Store::connect`); a claim's reads run on the shared pool beside them.
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
    },
    /// Two connections of its own: the claim loop's and the recorder's.
    Postgres(PgPool),
}

/// `on_db!` for the queue's writes.
macro_rules! on_queue_writer {
    ($queue:expr, |$pool:ident| $body:expr) => {
        match $queue {
            $crate::server::store::QueueDb::Sqlite { writer: $pool, .. } => $body,
            $crate::server::store::QueueDb::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_queue_writer;

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// The dispatcher's claims and outcomes. On SQLite one connection of its own for their
    /// writes: claims and outcome batches take turns on it instead of meeting on SQLite's
    /// write lock, where the loser sleeps in the busy handler. On PostgreSQL two of its own.
    queue: QueueDb,
    /// The queue of the task that writes events in batches (`event_writer`): each commit
    /// costs an fsync (and on PostgreSQL round trips), so concurrent events share one.
    event_batches: tokio::sync::mpsc::Sender<events::EventJob>,
    /// On SQLite, the event writer's connection (a pool of one), which readiness probes too.
    sqlite_writer: Option<SqlitePool>,
    /// On SQLite, the event writer's last batch failed as unavailable (a full disk): set by
    /// the writer, cleared by its next commit or a readiness probe's ballast write.
    sqlite_writes_failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    probe_cache: std::sync::Arc<health::ProbeCache>,
    /// Woken when this process commits new deliveries, so a local dispatcher starts at once.
    /// Replicas sharing PostgreSQL hear the same news through `NOTIFY` on `DELIVERY_CHANNEL`.
    new_deliveries: std::sync::Arc<tokio::sync::Notify>,
    /// On PostgreSQL, wakes the task that sends `NOTIFY` to the other replicas.
    announcements: Option<std::sync::Arc<tokio::sync::Notify>>,
    /// This process's dispatcher, to which intake hands fresh deliveries leased.
    handoff: handoff::HandoffSlot,
}

/// Event batches one PostgreSQL replica writes at once, each on its own connection of the
/// pool's 16: while they are all busy, arriving events gather into the next ones.
const PG_EVENT_WRITERS: usize = 4;

/// Events in one PostgreSQL batch, at most: an isolated batch takes a savepoint per event,
/// and past 64 a backend's subtransaction cache overflows, which slows every snapshot.
const PG_MAX_BATCH: usize = 64;

/// The PostgreSQL channel that announces committed deliveries to every replica.
pub const DELIVERY_CHANNEL: &str = "facehook_deliveries";

impl Store {
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        let (db, queue) = if database_url.starts_with("sqlite:") {
            // WAL lets readers proceed during a write; the busy timeout turns lock
            // contention between pooled connections into waiting instead of errors.
            let options = SqliteConnectOptions::from_str(database_url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // Events are committed by the writer with full fsync. The shared pool (sessions,
            // console, the dispatcher's claims and outcomes) uses NORMAL, which in WAL mode
            // survives a process crash and can only lose the last commits on power loss: a
            // lost outcome means the delivery is sent again, which at-least-once allows.
            // A connection to a local file cannot go stale, and the check before each use is
            // a round trip to the connection's thread: one for every statement.
            let sqlite_pool = |connections| {
                SqlitePoolOptions::new()
                    .max_connections(connections)
                    .test_before_acquire(false)
            };
            let pool = sqlite_pool(8)
                .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
                .await?;
            let queue = sqlite_pool(1)
                .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
                .await?;
            let writer = sqlite_pool(1).connect_with(options).await?;
            let new_deliveries = std::sync::Arc::new(tokio::sync::Notify::new());
            let handoff = handoff::HandoffSlot::default();
            let sqlite_writes_failing = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
            return Ok(Store {
                queue: QueueDb::Sqlite {
                    writer: queue,
                    readers: pool.clone(),
                },
                db: Db::Sqlite(pool),
                // SQLite allows one writer at a time.
                event_batches: event_writer::spawn(
                    writer.clone(),
                    1,
                    128,
                    event_writer::Listeners {
                        wake: vec![new_deliveries.clone()],
                        handoff: handoff.clone(),
                    },
                    sqlite_writes_failing.clone(),
                ),
                sqlite_writer: Some(writer),
                sqlite_writes_failing,
                probe_cache: Default::default(),
                new_deliveries,
                announcements: None,
                handoff,
            });
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(database_url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(options.clone())
                .await?;
            // The dispatcher's own connections: its claims and outcome batches do not queue
            // behind console and API work, and skip the check before each use (a round trip),
            // since a failed claim or record is retried anyway. The claim loop and the
            // recorder each use one at a time.
            let queue = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            (Db::Postgres(pool), QueueDb::Postgres(queue))
        } else {
            return Err(StoreError::UnsupportedUrl(database_url.to_owned()));
        };
        let Db::Postgres(pool) = &db else {
            return Err(StoreError::UnsupportedUrl(database_url.to_owned()));
        };
        let announcer = spawn_announcer(pool.clone());
        let new_deliveries = std::sync::Arc::new(tokio::sync::Notify::new());
        let handoff = handoff::HandoffSlot::default();
        // No readiness flag: PostgreSQL's readiness probe writes through the pool itself.
        let event_batches = event_writer::spawn(
            pool.clone(),
            PG_EVENT_WRITERS,
            PG_MAX_BATCH,
            event_writer::Listeners {
                wake: vec![new_deliveries.clone(), announcer.clone()],
                handoff: handoff.clone(),
            },
            Default::default(),
        );
        Ok(Store {
            db,
            queue,
            event_batches,
            sqlite_writer: None,
            sqlite_writes_failing: Default::default(),
            probe_cache: Default::default(),
            new_deliveries,
            announcements: Some(announcer),
            handoff,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Where the dispatcher claims deliveries and records attempts.
    pub(crate) fn queue_db(&self) -> &QueueDb {
        &self.queue
    }

    /// Completes when this process has committed deliveries since the last call returned.
    pub async fn deliveries_committed(&self) {
        self.new_deliveries.notified().await
    }

    pub fn backend_name(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies our migrations, then the session store's own table.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                sqlx::migrate!("./migrations/sqlite").run(pool).await?;
                tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
                    .migrate()
                    .await
                    .map_err(|e| StoreError::SessionStore(e.to_string()))?;
            }
            Db::Postgres(pool) => {
                sqlx::migrate!("./migrations/postgres").run(pool).await?;
                tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
                    .migrate()
                    .await
                    .map_err(|e| StoreError::SessionStore(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Readiness: one round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_queue_writer!(&self.queue, |pool| pool.close().await);
        on_db!(&self.db, |pool| pool.close().await)
    }
}

impl Store {
    /// Tells the other replicas that deliveries were committed, off the request path.
    /// Deliveries became due outside intake (a redelivery, a replay, a re-enabled endpoint):
    /// wakes this process's dispatcher and the other replicas'.
    pub(crate) fn wake_dispatchers(&self) {
        self.new_deliveries.notify_one();
        self.announce_to_replicas();
    }

    pub(crate) fn announce_to_replicas(&self) {
        if let Some(announcements) = &self.announcements {
            announcements.notify_one();
        }
    }
}

/// Sends `NOTIFY` on `DELIVERY_CHANNEL` after commits, one at a time: announcements that
/// arrive while one is being sent collapse into the next, so a burst of events costs a few
/// notifications instead of a round trip each.
fn spawn_announcer(pool: PgPool) -> std::sync::Arc<tokio::sync::Notify> {
    let requests = std::sync::Arc::new(tokio::sync::Notify::new());
    let pending = requests.clone();
    tokio::spawn(async move {
        loop {
            pending.notified().await;
            let sent = sqlx::query("SELECT pg_notify($1, '')")
                .bind(DELIVERY_CHANNEL)
                .execute(&pool)
                .await;
            if let Err(err) = sent {
                // Other replicas still find the deliveries by their safety-net poll.
                tracing::warn!(error = %err, "announcing new deliveries failed");
                if pool.is_closed() {
                    return;
                }
            }
        }
    });
    requests
}

/// A prefixed public identifier, e.g. `evt_0mi8x2k4qf3k9x2ab7c`, so a pasted ID explains
/// itself: the creation time (milliseconds, base 36, fixed width), then 11 random characters.
/// Time first, so rows written together sit together in a primary-key index: random keys
/// dirtied a different index page for every row a batch inserted.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::Rng;
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut time = [b'0'; 9];
    let mut ms = u64::try_from(now_ms()).unwrap_or(0);
    for digit in time.iter_mut().rev() {
        *digit = DIGITS[(ms % 36) as usize];
        ms /= 36;
    }
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(prefix.len() + 21);
    id.push_str(prefix);
    id.push('_');
    id.extend(time.iter().map(|&digit| char::from(digit)));
    id.extend((0..11).map(|_| char::from(DIGITS[rng.gen_range(0..36)])));
    id
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_are_prefixed_and_sort_by_creation_time() {
        let first = new_id("evt");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("evt");
        assert!(first.starts_with("evt_") && first.len() == 24, "{first}");
        assert!(first
            .chars()
            .skip(4)
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert!(first < second, "{first} then {second}");
    }
}
