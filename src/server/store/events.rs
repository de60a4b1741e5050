//! Events and their outbox. Recording an event changes the facial-ID registry, inserts the
//! event, one pending delivery per subscribed enabled endpoint and the idempotent reply, all in
//! one transaction: the dispatcher never sees half an event.

use crate::model::ids::{AppId, EventId};

use super::handoff::{DeliveryHandoff, Handed};
use super::queue::{leased_of_event_sql, ClaimedDelivery};
use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;
use std::sync::LazyLock;

/// What an event does to the facial-ID registry.
#[derive(Debug, Clone)]
pub enum RegistryChange {
    Enroll {
        payload: Option<String>,
        gender: Option<String>,
        age: Option<i64>,
    },
    Authenticate,
    Delete,
    ReplacePayload {
        payload: Option<String>,
    },
    SetPincode {
        pincode_hash: String,
    },
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub app_id: &'a AppId,
    pub event_name: &'a str,
    pub facial_id: &'a str,
    pub client_ip: &'a str,
    pub change: RegistryChange,
}

/// An idempotency key and the hash of the request it was first used with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub request_hash: String,
    pub status_code: i64,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event_id: EventId,
    pub deliveries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded(RecordedEvent),
    FacialIdUnknown,
    FacialIdTaken,
    /// The idempotency key was used before (possibly concurrently): answer with its reply.
    Replayed(StoredReply),
}

/// How long an idempotent reply is kept and replayed.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(sqlx::FromRow)]
struct Snapshot {
    payload: Option<String>,
    gender: Option<String>,
    age: Option<i64>,
}

/// The event's row ($1 to $9).
const INSERT_EVENT: &str = "INSERT INTO events (id, app_id, event_name, facial_id, client_ip, \
     gender, age, payload, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The event's row, after the advisory locks of every ordered endpoint of the application
/// (`$2`) and this facial ID (`$4`), taken in one order (PostgreSQL): the deliveries' insert,
/// the next statement, sees every release those locks waited for. One statement, so intake
/// pays no extra round trip for ordering, with ordered endpoints or without.
const INSERT_EVENT_LOCKING: &str = "WITH locks AS (SELECT pg_advisory_xact_lock(k) FROM ( \
       SELECT hashtextextended(e.id || ' ' || $4, 0) AS k FROM endpoints e \
       WHERE e.app_id = $2 AND e.ordered AND e.enabled ORDER BY k) pairs) \
     INSERT INTO events (id, app_id, event_name, facial_id, client_ip, gender, age, payload, \
     occurred_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM (SELECT count(*) FROM locks) taken";

/// An event's deliveries: one per enabled endpoint of the application (`$2`) subscribed to
/// its kind (`$4`), due at `$3`. Each is leased under `$5` for its endpoint's timeout and `$6`
/// when `$5` is given, unless it is held or its endpoint paused (`ahead`, `paused`). To an
/// ordered endpoint it carries the facial ID (`$7`) and its place after that facial ID's
/// unfinished deliveries there, and is held if there are any.
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (id, event_id, endpoint_id, app_id, \
     next_attempt_at, created_at, status, lease_token, lease_until, order_key, order_seq) \
     SELECT 'del_' || substr($1, 5) || substr(e.id, 4), $1, e.id, e.app_id, $3, $3, \
     CASE WHEN e.ahead IS NOT NULL THEN 'held' \
          WHEN $5 IS NULL OR e.paused THEN 'pending' ELSE 'delivering' END, \
     CASE WHEN e.ahead IS NULL AND NOT e.paused THEN $5 END, \
     CASE WHEN e.ahead IS NULL AND NOT e.paused AND $5 IS NOT NULL \
          THEN $3 + e.timeout_secs * 1000 + $6 END, \
     CASE WHEN e.ordered THEN $7 END, \
     CASE WHEN e.ordered THEN COALESCE(e.ahead, 0) + 1 END \
     FROM (SELECT e.id, e.app_id, e.timeout_secs, e.ordered, \
             COALESCE(e.paused_until > $3, FALSE) AS paused, \
             CASE WHEN e.ordered THEN (SELECT MAX(o.order_seq) FROM deliveries o \
               WHERE o.endpoint_id = e.id AND o.order_key = $7 AND o.order_key IS NOT NULL \
               AND o.status IN ('pending', 'retrying', 'delivering', 'held')) END AS ahead \
           FROM endpoints e WHERE e.app_id = $2 AND e.enabled \
           AND (e.events IS NULL OR (',' || e.events || ',') LIKE ('%,' || $4 || ',%'))) e";

/// The statements of one event, run on `$tx` (a transaction or a savepoint inside one):
/// the registry change, the event, its outbox rows and the idempotent reply. Evaluates to
/// the outcome; the caller commits only `Recorded` and rolls anything else back. A macro
/// because it is type-checked once per backend, like `on_db!`.
macro_rules! apply_event {
    ($tx:expr, $event:expr, $idempotency:expr, $reply:expr, $now:expr, $event_id:expr, $lease:expr, $insert_event:expr) => {
        async {
            let snapshot: Option<Snapshot> = match &$event.change {
                RegistryChange::Enroll { payload, gender, age } => {
                    // A taken ID inserts nothing rather than failing: on PostgreSQL a failed
                    // statement would abort the whole batch's transaction.
                    let inserted = sqlx::query(
                        "INSERT INTO facial_ids (app_id, facial_id, payload, gender, age, enrolled_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id, facial_id) DO NOTHING",
                    )
                    .bind($event.app_id)
                    .bind($event.facial_id)
                    .bind(payload)
                    .bind(gender)
                    .bind(age)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected();
                    if inserted == 0 {
                        return Ok(RecordOutcome::FacialIdTaken);
                    }
                    Some(Snapshot { payload: payload.clone(), gender: gender.clone(), age: *age })
                }
                RegistryChange::Authenticate => sqlx::query_as(
                    "UPDATE facial_ids SET last_auth_at = $3 WHERE app_id = $1 AND facial_id = $2 \
                     RETURNING payload, gender, age",
                )
                .bind($event.app_id)
                .bind($event.facial_id)
                .bind($now)
                .fetch_optional(&mut *$tx)
                .await?,
                RegistryChange::Delete => sqlx::query_as(
                    "DELETE FROM facial_ids WHERE app_id = $1 AND facial_id = $2 RETURNING payload, gender, age",
                )
                .bind($event.app_id)
                .bind($event.facial_id)
                .fetch_optional(&mut *$tx)
                .await?,
                RegistryChange::ReplacePayload { payload } => sqlx::query_as(
                    "UPDATE facial_ids SET payload = $3 WHERE app_id = $1 AND facial_id = $2 \
                     RETURNING payload, gender, age",
                )
                .bind($event.app_id)
                .bind($event.facial_id)
                .bind(payload)
                .fetch_optional(&mut *$tx)
                .await?,
                RegistryChange::SetPincode { pincode_hash } => sqlx::query_as(
                    "UPDATE facial_ids SET pincode_hash = $3 WHERE app_id = $1 AND facial_id = $2 \
                     RETURNING payload, gender, age",
                )
                .bind($event.app_id)
                .bind($event.facial_id)
                .bind(pincode_hash)
                .fetch_optional(&mut *$tx)
                .await?,
            };
            let Some(snapshot) = snapshot else {
                return Ok(RecordOutcome::FacialIdUnknown);
            };

            sqlx::query($insert_event)
            .bind(&$event_id)
            .bind($event.app_id)
            .bind($event.event_name)
            .bind($event.facial_id)
            .bind($event.client_ip)
            .bind(&snapshot.gender)
            .bind(snapshot.age)
            .bind(&snapshot.payload)
            .bind($now)
            .execute(&mut *$tx)
            .await?;

            // One pending delivery per enabled endpoint subscribed to this kind ("all" is NULL),
            // due from now rather than from the request's arrival: an event can wait in the
            // SQLite writer's queue or for a lock, and a due time read long before its commit
            // lands behind the dispatcher's claim cursor, which stays only a second behind.
            // With `$lease` (a token and a margin), each is written leased to this process's
            // dispatcher, for one endpoint timeout and the margin, as a claim would lease it;
            // unless it must wait: behind its facial ID's unfinished deliveries to an ordered
            // endpoint (then `held`, see `ordering`), or for an endpoint a 429 paused.
            let due = now_ms().max($now);
            let lease: Option<(&str, i64)> = $lease;
            let deliveries = sqlx::query(INSERT_DELIVERIES)
                .bind(&$event_id)
                .bind($event.app_id)
                .bind(due)
                .bind($event.event_name)
                .bind(lease.map(|(token, _)| token))
                .bind(lease.map_or(0, |(_, margin)| margin))
                .bind($event.facial_id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();

            let recorded = RecordedEvent {
                event_id: $event_id.clone(),
                deliveries,
            };
            if let Some(idempotency) = $idempotency {
                let (status_code, body) = ($reply)(&recorded);
                // A concurrent request with the same key won: undo ours and replay its reply.
                let stored = sqlx::query(
                    "INSERT INTO idempotent_replies (app_id, idem_key, request_hash, status_code, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (app_id, idem_key) DO UPDATE SET request_hash = excluded.request_hash, \
                     status_code = excluded.status_code, body = excluded.body, created_at = excluded.created_at \
                     WHERE idempotent_replies.created_at <= $7",
                )
                .bind($event.app_id)
                .bind(idempotency.key)
                .bind(idempotency.request_hash)
                .bind(status_code)
                .bind(&body)
                .bind($now)
                .bind($now - IDEMPOTENCY_WINDOW_MS)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if stored == 0 {
                    return Ok(RecordOutcome::Replayed(StoredReply {
                        request_hash: String::new(),
                        status_code: 0,
                        body: String::new(),
                    }));
                }
            }
            Ok::<_, sqlx::Error>(RecordOutcome::Recorded(recorded))
        }
        .await
    };
}

impl Store {
    pub async fn stored_reply(
        &self,
        app_id: &AppId,
        key: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        let row: Option<(String, i64, String)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT request_hash, status_code, body FROM idempotent_replies \
                 WHERE app_id = $1 AND idem_key = $2 AND created_at > $3",
            )
            .bind(app_id)
            .bind(key)
            .bind(now_ms() - IDEMPOTENCY_WINDOW_MS)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(request_hash, status_code, body)| StoredReply {
            request_hash,
            status_code,
            body,
        }))
    }

    /// Records `event` and its deliveries atomically. `reply` builds the response to keep for
    /// the idempotency key from the recorded event; it is stored in the same transaction.
    /// Events from concurrent requests share one transaction (one durable commit), and one
    /// event's failure never touches another's (`event_writer`).
    pub async fn record_event(
        &self,
        event: NewEvent<'_>,
        idempotency: Option<IdempotencyKey<'_>>,
        reply: ReplyRenderer,
    ) -> Result<RecordOutcome, StoreError> {
        let now = now_ms();
        let event_id = EventId::from(new_id(EventId::PREFIX));
        let (respond, answer) = tokio::sync::oneshot::channel();
        let job = EventJob {
            event: OwnedEvent::from(&event),
            idempotency: idempotency
                .as_ref()
                .map(|i| (i.key.to_owned(), i.request_hash.to_owned())),
            reply,
            now,
            event_id,
            respond,
        };
        self.event_batches
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        let outcome = answer.await.map_err(|_| StoreError::WriterStopped)??;
        match outcome {
            // The same key sent twice at once: the second can meet the first's registry change
            // (an ID already enrolled, already deleted) before its key. The first has
            // committed by now, so its reply is there to replay.
            RecordOutcome::FacialIdTaken | RecordOutcome::FacialIdUnknown
                if idempotency.is_some() =>
            {
                let key = idempotency.map(|i| i.key).unwrap_or_default();
                match self.stored_reply(event.app_id, key).await? {
                    Some(reply) => Ok(RecordOutcome::Replayed(reply)),
                    None => Ok(outcome),
                }
            }
            // Fetch the winner's reply outside the rolled-back transaction.
            RecordOutcome::Replayed(_) => {
                let key = idempotency.map(|i| i.key).unwrap_or_default();
                match self.stored_reply(event.app_id, key).await? {
                    Some(reply) => Ok(RecordOutcome::Replayed(reply)),
                    None => Err(StoreError::Database(sqlx::Error::RowNotFound)),
                }
            }
            other => Ok(other),
        }
    }

    pub async fn pending_deliveries_of_event(&self, event_id: &EventId) -> Result<i64, StoreError> {
        let count: i64 = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE event_id = $1 AND status = 'pending'",
            )
            .bind(event_id)
            .fetch_one(pool)
            .await
        })?;
        Ok(count)
    }

    /// The linked payload an event carries (JSON text), as recorded when it happened.
    pub async fn event_payload(&self, event_id: &EventId) -> Result<Option<String>, StoreError> {
        let payload: Option<Option<String>> = on_db!(self.db(), |pool| {
            sqlx::query_scalar("SELECT payload FROM events WHERE id = $1")
                .bind(event_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(payload.flatten())
    }
}

/// Renders the reply kept for an idempotency key from the recorded event.
pub type ReplyRenderer = Box<dyn Fn(&RecordedEvent) -> (i64, String) + Send + Sync>;

/// An event as the writer task receives it.
#[derive(Debug)]
struct OwnedEvent {
    app_id: AppId,
    event_name: String,
    facial_id: String,
    client_ip: String,
    change: RegistryChange,
}

impl From<&NewEvent<'_>> for OwnedEvent {
    fn from(event: &NewEvent<'_>) -> Self {
        OwnedEvent {
            app_id: event.app_id.to_owned(),
            event_name: event.event_name.to_owned(),
            facial_id: event.facial_id.to_owned(),
            client_ip: event.client_ip.to_owned(),
            change: event.change.clone(),
        }
    }
}

pub(super) struct EventJob {
    event: OwnedEvent,
    idempotency: Option<(String, String)>,
    reply: ReplyRenderer,
    now: i64,
    event_id: EventId,
    pub(super) respond: tokio::sync::oneshot::Sender<Result<RecordOutcome, StoreError>>,
}

impl EventJob {
    /// Whether this job's conflict is found only after its writes (an idempotency key), so
    /// it needs a savepoint to be undone alone.
    pub(super) fn needs_savepoint(&self) -> bool {
        self.idempotency.is_some()
    }

    /// Who the job's registry change locks: sorting a batch by it makes concurrent batches
    /// take row locks in one order (no deadlock), and keeps one facial ID's events in order.
    pub(super) fn lock_key(&self) -> (&AppId, &str) {
        (&self.event.app_id, &self.event.facial_id)
    }
}

/// What one job wrote: its outcome, and the deliveries leased to this process's dispatcher,
/// to start once the transaction commits.
pub(super) struct Applied {
    pub outcome: RecordOutcome,
    pub handed: Vec<Handed>,
}

/// What the event writer needs of a connection: one job's statements (leasing its deliveries
/// to `handoff`, when given), or one plain statement (`BEGIN`, a savepoint, `COMMIT`). Both
/// backends run the same text.
pub(super) trait BatchConnection: Send {
    fn apply<'a>(
        &'a mut self,
        job: &'a EventJob,
        handoff: Option<&'a dyn DeliveryHandoff>,
    ) -> BoxedResult<'a, Applied>;
    fn execute<'a>(&'a mut self, statement: &'static str) -> BoxedResult<'a, ()>;
}

/// Boxed so the writer's futures are `Send` with concrete lifetimes (sqlx executors on
/// `&mut` connections otherwise trip the compiler's higher-ranked lifetime check).
pub(super) type BoxedResult<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

static LEASED_OF_EVENT: LazyLock<String> = LazyLock::new(leased_of_event_sql);

/// A leased delivery the dispatcher had no room for, back to waiting for a claim.
const UNLEASE: &str = "UPDATE deliveries SET status = 'pending', lease_token = NULL, \
     lease_until = NULL WHERE id = $1";

macro_rules! batch_connection {
    ($connection:ty, $insert_event:expr) => {
        impl BatchConnection for $connection {
            fn apply<'a>(
                &'a mut self,
                job: &'a EventJob,
                handoff: Option<&'a dyn DeliveryHandoff>,
            ) -> BoxedResult<'a, Applied> {
                Box::pin(async move {
                    let idempotency = job
                        .idempotency
                        .as_ref()
                        .map(|(key, request_hash)| IdempotencyKey { key, request_hash });
                    let event = NewEvent {
                        app_id: &job.event.app_id,
                        event_name: &job.event.event_name,
                        facial_id: &job.event.facial_id,
                        client_ip: &job.event.client_ip,
                        change: job.event.change.clone(),
                    };
                    let token = handoff.map(|_| new_id("lease"));
                    let lease = handoff
                        .zip(token.as_deref())
                        .map(|(handoff, token)| (token, handoff.lease_margin_ms()));
                    let conn = self;
                    let outcome = apply_event!(
                        conn,
                        event,
                        &idempotency,
                        &job.reply,
                        job.now,
                        job.event_id,
                        lease,
                        $insert_event
                    )?;
                    let mut handed = Vec::new();
                    if let (RecordOutcome::Recorded(recorded), Some(handoff), Some(token)) =
                        (&outcome, handoff, &token)
                    {
                        if recorded.deliveries > 0 {
                            let leased: Vec<ClaimedDelivery> =
                                sqlx::query_as(LEASED_OF_EVENT.as_str())
                                    .bind(&job.event_id)
                                    .bind(token)
                                    .fetch_all(&mut *conn)
                                    .await?;
                            for delivery in leased {
                                match handoff.reserve(&delivery) {
                                    Some(reservation) => handed.push(Handed {
                                        reservation,
                                        delivery,
                                    }),
                                    None => {
                                        sqlx::query(UNLEASE)
                                            .bind(&delivery.delivery_id)
                                            .execute(&mut *conn)
                                            .await?;
                                    }
                                }
                            }
                        }
                    }
                    Ok(Applied { outcome, handed })
                })
            }

            fn execute<'a>(&'a mut self, statement: &'static str) -> BoxedResult<'a, ()> {
                // Plain text, not a prepared statement: one round trip on PostgreSQL.
                Box::pin(async move { sqlx::Executor::execute(self, statement).await.map(|_| ()) })
            }
        }
    };
}

// SQLite has one writer at a time, which orders a facial ID's deliveries on its own.
batch_connection!(sqlx::SqliteConnection, INSERT_EVENT);
batch_connection!(sqlx::PgConnection, INSERT_EVENT_LOCKING);
