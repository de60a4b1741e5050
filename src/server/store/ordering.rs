//! Delivery in order per facial ID, for endpoints that ask for it. Of one facial ID's
//! unfinished deliveries to such an endpoint only the first (lowest `order_seq`) is waiting
//! or on the wire; the rest are `held`. When the first is delivered or has failed for good,
//! the next is released. Claims never see held rows, so the claim path pays nothing for this.
//!
//! On PostgreSQL, writers of one facial ID's deliveries to one endpoint (intake, with the
//! event's row, `events::INSERT_EVENT_LOCKING`; a release; a redelivery) take a
//! transaction-scoped advisory lock on that pair first: otherwise a
//! release could run while intake's new held row is not yet visible, and strand it. A sweep
//! (`release_stranded`) frees any held row whose facial ID has nothing in front of it, so a
//! missed release delays rather than loses.

use crate::model::ids::{AppId, DeliveryId, EndpointId};

use super::{on_db, on_queue_writer, Db, QueueDb, Store, StoreError};
use crate::server::clock::now_ms;

/// Statuses of an unfinished delivery in front of others, and of any unfinished one.
const ACTIVE: &str = "('pending', 'retrying', 'delivering')";
const UNFINISHED: &str = "('pending', 'retrying', 'delivering', 'held')";

/// The advisory lock key of an endpoint and facial ID (PostgreSQL).
const LOCK_KEY: &str = "hashtextextended($1 || ' ' || $2, 0)";

/// One facial ID's deliveries to one ordered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct OrderKey {
    pub endpoint_id: EndpointId,
    pub facial_id: String,
}

/// Releases the first held delivery of each key in `:keys` (a JSON array of
/// `[endpoint_id, facial_id]`) that has nothing waiting or on the wire in front of it.
///
/// Every read of `deliveries` repeats the partial index's terms (`order_key IS NOT NULL AND
/// status IN {UNFINISHED}`): SQLite uses a partial index only when the query names them. The
/// update re-checks `held`: on PostgreSQL a row released and leased since this statement's
/// snapshot must not be set back to waiting (and sent twice).
fn release_sql(keys_table: &str) -> String {
    format!(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $2 WHERE status = 'held' AND id IN ( \
           SELECT (SELECT h.id FROM deliveries h WHERE h.endpoint_id = k.endpoint_id \
                   AND h.order_key = k.order_key AND h.order_key IS NOT NULL \
                   AND h.status IN {UNFINISHED} AND h.status = 'held' \
                   ORDER BY h.order_seq, h.id LIMIT 1) \
           FROM ({keys_table}) k \
           WHERE NOT EXISTS (SELECT 1 FROM deliveries a WHERE a.endpoint_id = k.endpoint_id \
                             AND a.order_key = k.order_key AND a.order_key IS NOT NULL \
                             AND a.status IN {UNFINISHED} AND a.status IN {ACTIVE}))"
    )
}

const SQLITE_KEYS: &str = "SELECT value ->> 0 AS endpoint_id, value ->> 1 AS order_key \
     FROM json_each($1)";
const POSTGRES_KEYS: &str = "SELECT value ->> 0 AS endpoint_id, value ->> 1 AS order_key \
     FROM jsonb_array_elements($1::jsonb)";

/// A finished delivery moved to the back of its facial ID's line (`$1`, scoped to the
/// application `$2`), due at `$3`, as part of replay `$4` if any: waiting if nothing of its
/// facial ID is unfinished in front of it, else held behind the last.
const REQUEUE: &str = "UPDATE deliveries SET \
     status = CASE WHEN EXISTS (SELECT 1 FROM deliveries o WHERE o.endpoint_id = deliveries.endpoint_id \
              AND o.order_key = deliveries.order_key AND o.order_key IS NOT NULL AND o.id <> deliveries.id \
              AND o.status IN ('pending', 'retrying', 'delivering', 'held')) \
              THEN 'held' ELSE 'pending' END, \
     order_seq = COALESCE((SELECT MAX(o.order_seq) FROM deliveries o \
              WHERE o.endpoint_id = deliveries.endpoint_id AND o.order_key = deliveries.order_key \
              AND o.order_key IS NOT NULL AND o.id <> deliveries.id \
              AND o.status IN ('pending', 'retrying', 'delivering', 'held')), 0) + 1, \
     next_attempt_at = $3, completed_at = NULL, replay_id = COALESCE($4, replay_id) \
     WHERE id = $1 AND app_id = $2 AND order_key IS NOT NULL AND status IN ('delivered', 'failed')";

impl Store {
    /// After the deliveries of `keys` finished (delivered or failed for good): each key's
    /// next held delivery, if nothing is in front of it now, waits for a claim.
    pub async fn release_next_in_order(&self, keys: &[OrderKey]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        let released = match self.queue_db() {
            QueueDb::Sqlite { writer, .. } => {
                let mut conn = writer.acquire().await?;
                release_next_in_order(&mut conn, &keys).await?
            }
            QueueDb::Postgres(pool) => release_on_postgres(pool, &keys).await?,
        };
        if released > 0 {
            self.wake_dispatchers();
        }
        Ok(released)
    }

    /// Releases held deliveries with nothing in front of them, whatever stranded them (a
    /// release lost with its process, or an endpoint's ordering switched off). Cheap: held
    /// rows are found through their partial index.
    pub async fn release_stranded(&self) -> Result<u64, StoreError> {
        let keys = format!(
            "SELECT DISTINCT endpoint_id, order_key FROM deliveries \
             WHERE order_key IS NOT NULL AND status IN {UNFINISHED} AND status = 'held'"
        );
        let sql = release_sql(&keys).replace("$2", "$1");
        let released = on_queue_writer!(self.queue_db(), |pool| {
            sqlx::query(&sql)
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        if released > 0 {
            self.wake_dispatchers();
        }
        Ok(released)
    }

    /// An endpoint no longer ordered: its unfinished deliveries lose their places in line and
    /// every held one waits for a claim.
    pub(super) async fn release_order_of_endpoint(
        &self,
        endpoint_id: &EndpointId,
    ) -> Result<u64, StoreError> {
        let released = on_db!(self.db(), |pool| {
            sqlx::query(&format!(
                "UPDATE deliveries SET status = CASE WHEN status = 'held' THEN 'pending' ELSE status END, \
                 order_key = NULL, order_seq = NULL \
                 WHERE endpoint_id = $1 AND order_key IS NOT NULL AND status IN {UNFINISHED}"
            ))
            .bind(endpoint_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        if released > 0 {
            self.wake_dispatchers();
        }
        Ok(released)
    }

    /// Sends a finished ordered delivery again, at the back of its facial ID's line; `false`
    /// when it is not a finished ordered delivery of `app_id`.
    pub(super) async fn requeue_in_order(
        &self,
        app_id: &AppId,
        delivery_id: &DeliveryId,
        replay_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let affected = match self.db() {
            Db::Sqlite(pool) => sqlx::query(REQUEUE)
                .bind(delivery_id)
                .bind(app_id)
                .bind(now)
                .bind(replay_id)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let key: Option<(EndpointId, String)> = sqlx::query_as(
                    "SELECT endpoint_id, order_key FROM deliveries \
                     WHERE id = $1 AND app_id = $2 AND order_key IS NOT NULL",
                )
                .bind(delivery_id)
                .bind(app_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((endpoint_id, facial_id)) = key else {
                    return Ok(false);
                };
                lock_pair(&mut tx, &endpoint_id, &facial_id).await?;
                let affected = sqlx::query(REQUEUE)
                    .bind(delivery_id)
                    .bind(app_id)
                    .bind(now)
                    .bind(replay_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                affected
            }
        };
        if affected > 0 {
            self.wake_dispatchers();
        }
        Ok(affected > 0)
    }

    /// The delivery a held one waits behind: the first unfinished of its facial ID to its
    /// endpoint (waiting or on the wire).
    pub async fn waiting_behind(
        &self,
        delivery_id: &DeliveryId,
    ) -> Result<Option<DeliveryId>, StoreError> {
        let sql = format!(
            "SELECT a.id FROM deliveries d JOIN deliveries a ON a.endpoint_id = d.endpoint_id \
             AND a.order_key = d.order_key AND a.order_key IS NOT NULL AND a.status IN {UNFINISHED} \
             AND a.order_seq < d.order_seq \
             WHERE d.id = $1 AND d.status = 'held' ORDER BY a.order_seq LIMIT 1"
        );
        let head = on_db!(self.db(), |pool| {
            sqlx::query_scalar(&sql)
                .bind(delivery_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(head)
    }
}

/// Releases on SQLite, on the queue's writer (in the caller's transaction, if any): one
/// writer at a time, so intake's check and this release cannot interleave.
pub(crate) async fn release_next_in_order(
    conn: &mut sqlx::SqliteConnection,
    keys: &[OrderKey],
) -> Result<u64, sqlx::Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(&release_sql(SQLITE_KEYS))
        .bind(keys_json(keys))
        .bind(now_ms())
        .execute(conn)
        .await?
        .rows_affected())
}

/// Releases on PostgreSQL under each key's advisory lock. All keys in one transaction, each
/// lock only tried (so this never waits while holding one, and cannot deadlock); the release
/// runs in the next statement, whose snapshot sees whatever a lock's last holder committed.
/// A key whose lock is taken (intake is writing its facial ID's deliveries) is released
/// after, in a transaction of its own that waits for that lock. Committed without waiting for
/// the log's flush, as outcomes are: a release lost to a crash is the sweep's.
async fn release_on_postgres(pool: &sqlx::PgPool, keys: &[OrderKey]) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let locked: Vec<(EndpointId, String)> = sqlx::query_as(&format!(
        "SELECT endpoint_id, order_key FROM ({POSTGRES_KEYS}) k \
         WHERE pg_try_advisory_xact_lock(hashtextextended(endpoint_id || ' ' || order_key, 0))"
    ))
    .bind(keys_json(keys))
    .fetch_all(&mut *tx)
    .await?;
    let locked: Vec<OrderKey> = locked
        .into_iter()
        .map(|(endpoint_id, facial_id)| OrderKey {
            endpoint_id,
            facial_id,
        })
        .collect();
    let mut released = sqlx::query(&release_sql(POSTGRES_KEYS))
        .bind(keys_json(&locked))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    for key in keys.iter().filter(|key| !locked.contains(key)) {
        let mut tx = pool.begin().await?;
        lock_pair(&mut tx, &key.endpoint_id, &key.facial_id).await?;
        released += sqlx::query(&release_sql(POSTGRES_KEYS))
            .bind(keys_json(std::slice::from_ref(key)))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
    }
    Ok(released)
}

/// Takes the advisory lock of one endpoint and facial ID until the transaction ends.
pub(super) async fn lock_pair(
    tx: &mut sqlx::PgConnection,
    endpoint_id: &EndpointId,
    facial_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"))
        .bind(endpoint_id)
        .bind(facial_id)
        .execute(tx)
        .await?;
    Ok(())
}

fn keys_json(keys: &[OrderKey]) -> String {
    let pairs: Vec<[&str; 2]> = keys
        .iter()
        .map(|k| [k.endpoint_id.as_str(), k.facial_id.as_str()])
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}
