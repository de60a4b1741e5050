//! Alerts as stored: each organization's thresholds and operational webhook, each account's
//! mail choices and unread mark, the alert list, and the facts the evaluator reads.

use crate::model::ids::{AccountId, AppId, EndpointId, OrgId};

use super::{on_db, Store, StoreError};
use crate::model::alert::AlertRules;

/// Why an endpoint was disabled when its owner turned it off (not Facehook).
pub const OWNER_DISABLED_REASON: &str = "turned off by the owner";

/// An endpoint as the evaluator sees it, with its organization's thresholds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointFacts {
    pub id: EndpointId,
    pub app_id: AppId,
    pub org_id: OrgId,
    pub url: String,
    pub enabled: bool,
    /// An episode is open for it.
    pub alerting: bool,
    pub consecutive_failures: i64,
    pub failing_since: Option<i64>,
    pub last_success_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub alert_failures: i64,
    pub alert_rate_percent: i64,
    pub alert_rate_min_attempts: i64,
}

const FACTS: &str = "SELECT e.id, e.app_id, a.org_id, e.url, e.enabled, e.alerting, \
     e.consecutive_failures, \
     e.failing_since, e.last_success_at, e.disabled_at, e.disabled_reason, o.alert_failures, \
     o.alert_rate_percent, o.alert_rate_min_attempts \
     FROM endpoints e JOIN applications a ON a.id = e.app_id \
     JOIN organizations o ON o.id = a.org_id";

/// An open episode about an endpoint, with the endpoint as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenEndpointEpisode {
    pub episode_id: String,
    pub opened_at: i64,
    pub by_rate: bool,
    #[sqlx(flatten)]
    pub endpoint: EndpointFacts,
}

/// Deliveries of one endpoint that failed for good in a window, not yet counted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExhaustedBatch {
    pub count: i64,
    pub newest: i64,
    pub counted_until: Option<i64>,
    #[sqlx(flatten)]
    pub endpoint: EndpointFacts,
}

/// One alert row with its episode, for the console.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRecord {
    pub id: String,
    pub kind: String,
    pub message: String,
    pub raised_at: i64,
    pub app_id: Option<AppId>,
    pub endpoint_id: Option<EndpointId>,
    pub endpoint_url: Option<String>,
    pub deliveries_affected: i64,
    pub episode_id: Option<String>,
    pub opened_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub episode_deliveries: Option<i64>,
}

/// Which alerts an account sees: its organization's, and the server's when it is an operator.
const VISIBLE: &str = "(al.org_id = $1 OR ($2 AND al.org_id IS NULL))";

impl Store {
    pub async fn alert_rules(&self, org_id: &OrgId) -> Result<AlertRules, StoreError> {
        let row: Option<(i64, i64, i64)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT alert_failures, alert_rate_percent, alert_rate_min_attempts \
                 FROM organizations WHERE id = $1",
            )
            .bind(org_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row
            .map(|(failures, rate_percent, min_attempts)| AlertRules {
                failures,
                rate_percent,
                min_attempts,
            })
            .unwrap_or_default())
    }

    pub async fn set_alert_rules(
        &self,
        org_id: &OrgId,
        rules: &AlertRules,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE organizations SET alert_failures = $2, alert_rate_percent = $3, \
                 alert_rate_min_attempts = $4 WHERE id = $1",
            )
            .bind(org_id)
            .bind(rules.failures)
            .bind(rules.rate_percent)
            .bind(rules.min_attempts)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The operational webhook's URL and signing secret.
    pub async fn ops_webhook(
        &self,
        org_id: &OrgId,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        let row: Option<(Option<String>, Option<String>)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT ops_webhook_url, ops_webhook_secret FROM organizations WHERE id = $1",
            )
            .bind(org_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.unwrap_or_default())
    }

    /// Sets (or with `None`, removes) the URL; the secret is kept unless one is given.
    /// Messages not yet delivered follow the URL to its new address, or with it removed are
    /// dropped.
    pub async fn set_ops_webhook(
        &self,
        org_id: &OrgId,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE organizations SET ops_webhook_url = $2, \
                     ops_webhook_secret = COALESCE($3, ops_webhook_secret) WHERE id = $1",
                )
                .bind(org_id)
                .bind(url)
                .bind(secret)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE ops_deliveries SET url = COALESCE($2, url), \
                     status = CASE WHEN $2 IS NULL THEN 'failed' ELSE status END, \
                     last_error = CASE WHEN $2 IS NULL \
                       THEN 'the operational webhook was removed' ELSE last_error END \
                     WHERE org_id = $1 AND status = 'pending'",
                )
                .bind(org_id)
                .bind(url)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Deletes alerts raised before `cutoff` (their webhook messages with them) and episodes
    /// closed before it.
    pub async fn prune_alerts(&self, cutoff: i64) -> Result<u64, StoreError> {
        let pruned = on_db!(self.db(), |pool| {
            async {
                let alerts = sqlx::query("DELETE FROM alerts WHERE raised_at < $1")
                    .bind(cutoff)
                    .execute(pool)
                    .await?
                    .rows_affected();
                sqlx::query("DELETE FROM alert_episodes WHERE closed_at < $1")
                    .bind(cutoff)
                    .execute(pool)
                    .await?;
                Ok::<_, sqlx::Error>(alerts)
            }
            .await
        })?;
        Ok(pruned)
    }

    pub async fn alert_mail_prefs(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_db!(self.db(), |pool| {
            sqlx::query_as("SELECT kind FROM alert_mail_prefs WHERE account_id = $1 ORDER BY kind")
                .bind(account_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|(kind,)| kind).collect())
    }

    /// Replaces the account's choices with `kinds` (already validated).
    pub async fn set_alert_mail_prefs(
        &self,
        account_id: &AccountId,
        kinds: &[&str],
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM alert_mail_prefs WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                for kind in kinds {
                    sqlx::query("INSERT INTO alert_mail_prefs (account_id, kind) VALUES ($1, $2)")
                        .bind(account_id)
                        .bind(*kind)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Alerts the account has not seen, counted up to `cap`.
    pub async fn unread_alerts(
        &self,
        account_id: &AccountId,
        org_id: &OrgId,
        is_operator: bool,
        cap: i64,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM alerts al WHERE {VISIBLE} AND al.raised_at > \
             COALESCE((SELECT r.seen_at FROM alert_reads r WHERE r.account_id = $3 \
             AND r.org_id = $1), 0) LIMIT $4) unread"
        );
        let (count,): (i64,) = on_db!(self.db(), |pool| {
            sqlx::query_as(&sql)
                .bind(org_id)
                .bind(is_operator)
                .bind(account_id)
                .bind(cap)
                .fetch_one(pool)
                .await
        })?;
        Ok(count)
    }

    /// The newest alerts the account sees, with the moment it last looked (before this look).
    pub async fn alerts_for(
        &self,
        org_id: &OrgId,
        is_operator: bool,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT al.id, al.kind, al.message, al.raised_at, al.app_id, al.endpoint_id, \
             al.endpoint_url, al.deliveries_affected, al.episode_id, ep.opened_at, ep.closed_at, \
             ep.deliveries_affected AS episode_deliveries \
             FROM alerts al LEFT JOIN alert_episodes ep ON ep.id = al.episode_id \
             WHERE {VISIBLE} ORDER BY al.raised_at DESC, al.id DESC LIMIT $3"
        );
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AlertRecord>(&sql)
                .bind(org_id)
                .bind(is_operator)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// Marks the organization's alerts up to `now` seen by the account; returns the previous
    /// mark, so the page can show which alerts were new to this look.
    pub async fn mark_alerts_seen(
        &self,
        account_id: &AccountId,
        org_id: &OrgId,
        now: i64,
    ) -> Result<i64, StoreError> {
        let previous = on_db!(self.db(), |pool| {
            async {
                let previous: Option<(i64,)> = sqlx::query_as(
                    "SELECT seen_at FROM alert_reads WHERE account_id = $1 AND org_id = $2",
                )
                .bind(account_id)
                .bind(org_id)
                .fetch_optional(pool)
                .await?;
                sqlx::query(
                    "INSERT INTO alert_reads (account_id, org_id, seen_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id, org_id) DO UPDATE SET seen_at = $3 \
                     WHERE alert_reads.seen_at < $3",
                )
                .bind(account_id)
                .bind(org_id)
                .bind(now)
                .execute(pool)
                .await?;
                Ok::<_, sqlx::Error>(previous.map(|(at,)| at).unwrap_or(0))
            }
            .await
        })?;
        Ok(previous)
    }

    /// Enabled endpoints with no open episode whose consecutive failures reached their
    /// organization's threshold.
    pub async fn endpoints_past_failure_threshold(&self) -> Result<Vec<EndpointFacts>, StoreError> {
        let sql = format!(
            "{FACTS} WHERE e.enabled AND NOT e.alerting AND e.failing_since IS NOT NULL \
             AND e.consecutive_failures >= o.alert_failures"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointFacts>(&sql)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Enabled endpoints failing since `cutoff` or before.
    pub async fn failing_since_before(
        &self,
        cutoff: i64,
    ) -> Result<Vec<EndpointFacts>, StoreError> {
        let sql = format!("{FACTS} WHERE e.enabled AND e.failing_since <= $1");
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointFacts>(&sql)
                .bind(cutoff)
                .fetch_all(pool)
                .await
        })?)
    }

    /// The endpoints of `ids` that exist, with their thresholds.
    pub async fn endpoint_facts(
        &self,
        ids: &[EndpointId],
    ) -> Result<Vec<EndpointFacts>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
        Ok(match self.db() {
            super::Db::Sqlite(pool) => {
                sqlx::query_as::<_, EndpointFacts>(&format!(
                    "{FACTS} WHERE e.id IN (SELECT value FROM json_each($1))"
                ))
                .bind(&ids)
                .fetch_all(pool)
                .await?
            }
            super::Db::Postgres(pool) => {
                sqlx::query_as::<_, EndpointFacts>(&format!(
                    "{FACTS} WHERE e.id IN (SELECT jsonb_array_elements_text($1::jsonb))"
                ))
                .bind(&ids)
                .fetch_all(pool)
                .await?
            }
        })
    }

    /// Open episodes about endpoints.
    pub async fn open_endpoint_episodes(&self) -> Result<Vec<OpenEndpointEpisode>, StoreError> {
        let sql = FACTS.replacen(
            "SELECT ",
            "SELECT ep.id AS episode_id, ep.opened_at, ep.by_rate, ",
            1,
        ) + " JOIN alert_episodes ep ON ep.endpoint_id = e.id AND ep.closed_at IS NULL";
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, OpenEndpointEpisode>(&sql)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Endpoints Facehook disabled since `since` whose disable has no alert yet.
    pub async fn disabled_without_alert(
        &self,
        since: i64,
    ) -> Result<Vec<EndpointFacts>, StoreError> {
        let sql = format!(
            "{FACTS} WHERE NOT e.enabled AND e.disabled_at >= $1 \
             AND e.disabled_reason IS NOT NULL AND e.disabled_reason <> $2 \
             AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.dedupe_key = \
             'endpoint.disabled:' || e.id || ':' || CAST(e.disabled_at AS TEXT))"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointFacts>(&sql)
                .bind(since)
                .bind(OWNER_DISABLED_REASON)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Per endpoint, the deliveries (not tests) that failed for good after `after` and up to
    /// `until`, and not counted yet.
    pub async fn exhausted_deliveries(
        &self,
        after: i64,
        until: i64,
    ) -> Result<Vec<ExhaustedBatch>, StoreError> {
        let sql = FACTS.replacen(
            "SELECT ",
            "SELECT x.count, x.newest, e.exhausted_counted_until AS counted_until, ",
            1,
        )
            + " JOIN (SELECT d.endpoint_id, COUNT(*) AS count, MAX(d.completed_at) AS newest \
               FROM deliveries d JOIN endpoints de ON de.id = d.endpoint_id \
               JOIN events ev ON ev.id = d.event_id AND ev.event_name <> 'test' \
               WHERE d.status = 'failed' AND d.completed_at > $1 AND d.completed_at <= $2 \
               AND d.completed_at > COALESCE(de.exhausted_counted_until, 0) \
               GROUP BY d.endpoint_id) x ON x.endpoint_id = e.id";
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, ExhaustedBatch>(&sql)
                .bind(after)
                .bind(until)
                .fetch_all(pool)
                .await
        })?)
    }

    /// When the oldest delivery that could be sent now (its endpoint enabled) became due,
    /// if it became due at or before `cutoff`. Looks at the oldest `OLDEST_DUE_SCAN` waiting
    /// rows only, so the work is bounded: more held deliveries of disabled endpoints than
    /// that (they are not sent, so they are no backlog) hide an older backlog behind them.
    pub async fn oldest_due_before(&self, cutoff: i64) -> Result<Option<i64>, StoreError> {
        const OLDEST_DUE_SCAN: i64 = 10_000;
        let row: Option<(Option<i64>,)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT MIN(w.next_attempt_at) FROM (SELECT d.next_attempt_at, d.endpoint_id \
                 FROM deliveries d WHERE d.status IN ('pending', 'retrying') \
                 AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at LIMIT $2) w \
                 WHERE w.endpoint_id NOT IN (SELECT id FROM endpoints WHERE NOT enabled \
                 OR paused_until > $1)",
            )
            .bind(cutoff)
            .bind(OLDEST_DUE_SCAN)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.and_then(|(at,)| at))
    }

    /// Whether any dispatcher replica said it is alive since `since` and attempted a
    /// delivery in its last minute.
    pub async fn dispatcher_attempting_since(&self, since: i64) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT 1 FROM dispatcher_heartbeats \
                 WHERE last_seen_at >= $1 AND attempts_last_minute > 0 LIMIT 1",
            )
            .bind(since)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.is_some())
    }
}
