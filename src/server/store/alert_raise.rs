//! Raising alerts: each change of an episode and the alert it causes, with that alert's mails
//! and operational webhook message, in one transaction. A unique key per alert (and one open
//! episode per subject) makes every raise happen once, whichever replica tries it and however
//! often: what was recorded is sent by the outboxes, and a restart sends nothing again.

use crate::model::ids::{AppId, EndpointId, OrgId};

use super::{on_db, OutgoingMail, Store, StoreError};
use crate::server::clock::now_ms;

/// An alert ready to record: its words for mail and its operational webhook body.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    pub dedupe_key: String,
    pub kind: &'static str,
    /// `None` for the operator's alerts.
    pub org_id: Option<OrgId>,
    pub episode_id: Option<String>,
    pub app_id: Option<AppId>,
    pub endpoint_id: Option<EndpointId>,
    pub endpoint_url: Option<String>,
    pub message: String,
    pub deliveries_affected: i64,
    pub raised_at: i64,
    /// Sent to every member (or operator) who chose this kind, `to` filled per recipient;
    /// `None` when this server sends no mail.
    pub mail: Option<OutgoingMail>,
    pub webhook_body: String,
}

/// An episode to open.
#[derive(Debug, Clone)]
pub struct NewEpisode {
    pub id: String,
    pub subject: String,
    pub org_id: Option<OrgId>,
    pub app_id: Option<AppId>,
    pub endpoint_id: Option<EndpointId>,
    pub opened_at: i64,
    /// Opened by the success-rate rule.
    pub by_rate: bool,
}

/// Records `$alert` unless its key exists, then queues its mails and webhook message;
/// evaluates to whether it was recorded. A macro so it is type-checked on each backend.
macro_rules! record_alert {
    ($tx:ident, $alert:expr) => {{
        let alert: &NewAlert = $alert;
        let recorded = sqlx::query(
            "INSERT INTO alerts (id, dedupe_key, kind, org_id, episode_id, app_id, endpoint_id, \
             endpoint_url, message, deliveries_affected, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        )
        .bind(&alert.id)
        .bind(&alert.dedupe_key)
        .bind(alert.kind)
        .bind(&alert.org_id)
        .bind(&alert.episode_id)
        .bind(&alert.app_id)
        .bind(&alert.endpoint_id)
        .bind(&alert.endpoint_url)
        .bind(&alert.message)
        .bind(alert.deliveries_affected)
        .bind(alert.raised_at)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if let Some(mail) = alert.mail.as_ref().filter(|_| recorded) {
            // Only confirmed addresses: an address typed at sign-up by someone else never
            // receives alerts it did not ask for.
            sqlx::query(
                "INSERT INTO mail_outbox (id, to_address, subject, text_body, html_body, \
                 created_at, next_attempt_at) \
                 SELECT 'mail_' || $1 || '_' || a.id, a.email, $2, $3, $4, $5, $5 \
                 FROM accounts a JOIN alert_mail_prefs p ON p.account_id = a.id AND p.kind = $6 \
                 WHERE a.disabled_at IS NULL AND a.email_verified_at IS NOT NULL AND \
                 (a.id IN (SELECT m.account_id FROM memberships m WHERE m.org_id = $7) \
                  OR (CAST($7 AS TEXT) IS NULL AND a.is_operator))",
            )
            .bind(&alert.id)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(alert.raised_at)
            .bind(alert.kind)
            .bind(&alert.org_id)
            .execute(&mut *$tx)
            .await?;
        }
        if recorded {
            sqlx::query(
                "INSERT INTO ops_deliveries (id, org_id, url, body, next_attempt_at, created_at) \
                 SELECT $1, o.id, o.ops_webhook_url, $2, $3, $3 FROM organizations o \
                 WHERE o.id = $4 AND o.ops_webhook_url IS NOT NULL",
            )
            .bind(&alert.id)
            .bind(&alert.webhook_body)
            .bind(alert.raised_at)
            .bind(&alert.org_id)
            .execute(&mut *$tx)
            .await?;
        }
        recorded
    }};
}

/// At most one `delivery.exhausted` alert per endpoint in this time.
pub const EXHAUSTED_ALERT_EVERY_MS: i64 = 3_600_000;

/// On `$tx`: when `$endpoint_id` has deliveries counted since its last `delivery.exhausted`
/// alert and that alert is an hour old (or there is none), records the alert `$compose`
/// makes for their number and starts the next hour. The UPDATE comes first: on SQLite it
/// takes the write lock, on PostgreSQL the row's, so two replicas never both raise it.
macro_rules! raise_pending_exhausted {
    ($tx:ident, $endpoint_id:expr, $compose:expr) => {{
        let now = now_ms();
        let due = sqlx::query(
            "UPDATE endpoints SET exhausted_alert_at = $2 WHERE id = $1 \
             AND exhausted_pending > 0 \
             AND (exhausted_alert_at IS NULL OR exhausted_alert_at <= $3)",
        )
        .bind($endpoint_id)
        .bind(now)
        .bind(now - EXHAUSTED_ALERT_EVERY_MS)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if due {
            let (pending,): (i64,) =
                sqlx::query_as("SELECT exhausted_pending FROM endpoints WHERE id = $1")
                    .bind($endpoint_id)
                    .fetch_one(&mut *$tx)
                    .await?;
            sqlx::query("UPDATE endpoints SET exhausted_pending = 0 WHERE id = $1")
                .bind($endpoint_id)
                .execute(&mut *$tx)
                .await?;
            let alert = $compose(pending);
            record_alert!($tx, &alert)
        } else {
            false
        }
    }};
}

impl Store {
    /// Opens `episode` with `alert` as its first alert, unless its subject has an open
    /// episode already; an endpoint's successes are watched from then on.
    pub async fn open_episode(
        &self,
        episode: &NewEpisode,
        alert: &NewAlert,
    ) -> Result<bool, StoreError> {
        let opened = on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let opened = sqlx::query(
                    "INSERT INTO alert_episodes (id, org_id, subject, app_id, endpoint_id, \
                     opened_at, by_rate) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(&episode.id)
                .bind(&episode.org_id)
                .bind(&episode.subject)
                .bind(&episode.app_id)
                .bind(&episode.endpoint_id)
                .bind(episode.opened_at)
                .bind(episode.by_rate)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !opened {
                    return Ok::<_, sqlx::Error>(false);
                }
                sqlx::query(
                    "UPDATE endpoints SET alerting = TRUE, last_success_at = NULL WHERE id = $1",
                )
                .bind(&episode.endpoint_id)
                .execute(&mut *tx)
                .await?;
                record_alert!(tx, alert);
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(opened)
    }

    /// Records `alert` in its (existing) episode, once.
    pub async fn raise_alert(&self, alert: &NewAlert) -> Result<bool, StoreError> {
        let recorded = on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let recorded = record_alert!(tx, alert);
                tx.commit().await?;
                Ok::<_, sqlx::Error>(recorded)
            }
            .await
        })?;
        Ok(recorded)
    }

    /// Closes the open episode `episode_id`, stops watching its endpoint's successes, and
    /// records `alert` (the recovery); `false` when it was closed already.
    pub async fn close_episode(
        &self,
        episode_id: &str,
        alert: Option<&NewAlert>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let closed = on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let closed = sqlx::query(
                    "UPDATE alert_episodes SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
                )
                .bind(episode_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !closed {
                    return Ok::<_, sqlx::Error>(false);
                }
                sqlx::query(
                    "UPDATE endpoints SET alerting = FALSE WHERE id = \
                     (SELECT endpoint_id FROM alert_episodes WHERE id = $1)",
                )
                .bind(episode_id)
                .execute(&mut *tx)
                .await?;
                if let Some(alert) = alert {
                    record_alert!(tx, alert);
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(closed)
    }

    /// Whether an alert with this key was recorded: a read that spares a write transaction
    /// every check for alerts already raised.
    pub async fn alert_key_exists(&self, dedupe_key: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = on_db!(self.db(), |pool| {
            sqlx::query_as("SELECT 1 FROM alerts WHERE dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.is_some())
    }

    /// The open episode of `subject`, if any.
    pub async fn open_episode_of(&self, subject: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_db!(self.db(), |pool| {
            sqlx::query_as("SELECT id FROM alert_episodes WHERE subject = $1 AND closed_at IS NULL")
                .bind(subject)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|(id,)| id))
    }

    /// Counts `count` deliveries of `endpoint_id` that failed for good, up to `newest`, if
    /// nobody counted past `counted_until` meanwhile: into its open episode and into the
    /// count the next `delivery.exhausted` alert carries, which is raised now unless one was
    /// raised in the last hour (then it waits for the hour to pass: `flush_exhausted`).
    pub async fn count_exhausted(
        &self,
        endpoint_id: &EndpointId,
        counted_until: Option<i64>,
        newest: i64,
        count: i64,
        compose: &(dyn Fn(i64) -> NewAlert + Sync),
    ) -> Result<bool, StoreError> {
        let raised = on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE endpoints SET exhausted_counted_until = $2, \
                     exhausted_pending = exhausted_pending + $4 WHERE id = $1 \
                     AND COALESCE(exhausted_counted_until, -1) = COALESCE($3, -1)",
                )
                .bind(endpoint_id)
                .bind(newest)
                .bind(counted_until)
                .bind(count)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !claimed {
                    return Ok::<_, sqlx::Error>(false);
                }
                sqlx::query(
                    "UPDATE alert_episodes SET deliveries_affected = deliveries_affected + $2 \
                     WHERE endpoint_id = $1 AND closed_at IS NULL",
                )
                .bind(endpoint_id)
                .bind(count)
                .execute(&mut *tx)
                .await?;
                let raised = raise_pending_exhausted!(tx, endpoint_id, compose);
                tx.commit().await?;
                Ok(raised)
            }
            .await
        })?;
        Ok(raised)
    }

    /// Raises `delivery.exhausted` for endpoints whose deliveries failed for good after
    /// their last such alert, once that alert is an hour old.
    pub async fn flush_exhausted(
        &self,
        endpoint_id: &EndpointId,
        compose: &(dyn Fn(i64) -> NewAlert + Sync),
    ) -> Result<bool, StoreError> {
        let raised = on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let raised = raise_pending_exhausted!(tx, endpoint_id, compose);
                tx.commit().await?;
                Ok::<_, sqlx::Error>(raised)
            }
            .await
        })?;
        Ok(raised)
    }

    /// Endpoints with failed-for-good deliveries waiting for their hourly alert.
    pub async fn endpoints_with_pending_exhausted(&self) -> Result<Vec<EndpointId>, StoreError> {
        let rows: Vec<(EndpointId,)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT id FROM endpoints WHERE exhausted_pending > 0 \
                 AND (exhausted_alert_at IS NULL OR exhausted_alert_at <= $1)",
            )
            .bind(now_ms() - EXHAUSTED_ALERT_EVERY_MS)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
