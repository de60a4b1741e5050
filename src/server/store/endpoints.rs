//! Webhook endpoints. Callers pass the application id they already checked ownership of;
//! every query is scoped by it, so an endpoint id from another application matches nothing.

use crate::model::ids::{AppId, EndpointId};

use super::{new_id, on_db, Store, StoreError};
use crate::model::controls::SignatureScheme;
use crate::server::clock::now_ms;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRecord {
    pub id: EndpointId,
    pub app_id: AppId,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    pub events: Option<String>,
    pub include_payload: bool,
    pub timeout_secs: i64,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<i64>,
    pub consecutive_failures: i64,
    pub created_at: i64,
    pub ordered: bool,
    #[sqlx(try_from = "String")]
    pub signature_scheme: SignatureScheme,
    pub ed25519_secret_key: Option<String>,
    pub previous_ed25519_secret_key: Option<String>,
    /// JSON array of `CustomHeader`s, values included.
    pub custom_headers: String,
    pub retry_schedule: Option<String>,
    pub rate_per_sec: Option<i64>,
}

/// Fresh signing credentials: an HMAC secret (`whsec_…`) and an ed25519 key (`whsk_…`).
#[derive(Debug, Clone, Copy)]
pub struct NewSigningKeys<'a> {
    pub hmac_secret: &'a str,
    pub ed25519_secret_key: &'a str,
}

/// The owner-editable settings of an endpoint, already validated.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// `None`: every event kind; else a comma-separated list.
    pub events: Option<String>,
    pub include_payload: bool,
    pub timeout_secs: i64,
    pub ordered: bool,
    pub signature_scheme: SignatureScheme,
    /// JSON array of `CustomHeader`s, values included.
    pub custom_headers: String,
    /// `None`: the operator's schedule.
    pub retry_schedule: Option<String>,
    pub rate_per_sec: Option<i64>,
}

const COLUMNS: &str = "id, app_id, url, description, enabled, events, include_payload, timeout_secs, \
     signing_secret, previous_signing_secret, previous_secret_expires_at, disabled_reason, disabled_at, \
     consecutive_failures, created_at, ordered, signature_scheme, ed25519_secret_key, \
     previous_ed25519_secret_key, custom_headers, retry_schedule, rate_per_sec";

impl Store {
    /// Adds an endpoint unless the application already has `max_per_app`; `None` then.
    /// The limit is checked inside the INSERT so two concurrent saves cannot both pass it.
    pub async fn insert_endpoint(
        &self,
        app_id: &AppId,
        settings: &EndpointSettings,
        keys: &NewSigningKeys<'_>,
        max_per_app: i64,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let sql = format!(
            "INSERT INTO endpoints (id, app_id, url, description, enabled, events, include_payload, timeout_secs, \
             signing_secret, created_at, ed25519_secret_key, ordered, signature_scheme, custom_headers, \
             retry_schedule, rate_per_sec) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $13, $14, $15, $16, $17 \
             WHERE (SELECT COUNT(*) FROM endpoints WHERE app_id = $2) < $11 \
             RETURNING {COLUMNS}"
        );
        let id = new_id("ep");
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointRecord>(&sql)
                .bind(&id)
                .bind(app_id)
                .bind(&settings.url)
                .bind(&settings.description)
                .bind(settings.enabled)
                .bind(&settings.events)
                .bind(settings.include_payload)
                .bind(settings.timeout_secs)
                .bind(keys.hmac_secret)
                .bind(now_ms())
                .bind(max_per_app)
                .bind(keys.ed25519_secret_key)
                .bind(settings.ordered)
                .bind(settings.signature_scheme.as_str())
                .bind(&settings.custom_headers)
                .bind(&settings.retry_schedule)
                .bind(settings.rate_per_sec)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    pub async fn endpoints_of_app(
        &self,
        app_id: &AppId,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM endpoints WHERE app_id = $1 ORDER BY created_at, id");
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointRecord>(&sql)
                .bind(app_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    pub async fn endpoint_of_app(
        &self,
        app_id: &AppId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM endpoints WHERE app_id = $1 AND id = $2");
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, EndpointRecord>(&sql)
                .bind(app_id)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// Saving settings also clears an automatic disable reason when the owner re-enables,
    /// and records when and why when the owner disables.
    pub async fn update_endpoint(
        &self,
        app_id: &AppId,
        id: &EndpointId,
        settings: &EndpointSettings,
        new_ed25519_secret_key: &str,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE endpoints SET url = $3, description = $4, enabled = $5, events = $6, \
                 include_payload = $7, timeout_secs = $8, ordered = $11, signature_scheme = $12, \
                 custom_headers = $13, retry_schedule = $14, rate_per_sec = $15, \
                 ed25519_secret_key = COALESCE(ed25519_secret_key, $16), \
                 disabled_reason = CASE WHEN $5 THEN NULL \
                   ELSE COALESCE(disabled_reason, $10) END, \
                 disabled_at = CASE WHEN $5 THEN NULL ELSE COALESCE(disabled_at, $9) END, \
                 failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END, \
                 last_success_at = CASE WHEN $5 AND NOT enabled THEN NULL ELSE last_success_at END, \
                 consecutive_failures = CASE WHEN $5 AND NOT enabled THEN 0 \
                   ELSE consecutive_failures END \
                 WHERE app_id = $1 AND id = $2",
            )
            .bind(app_id)
            .bind(id)
            .bind(&settings.url)
            .bind(&settings.description)
            .bind(settings.enabled)
            .bind(&settings.events)
            .bind(settings.include_payload)
            .bind(settings.timeout_secs)
            .bind(now_ms())
            .bind(super::OWNER_DISABLED_REASON)
            .bind(settings.ordered)
            .bind(settings.signature_scheme.as_str())
            .bind(&settings.custom_headers)
            .bind(&settings.retry_schedule)
            .bind(settings.rate_per_sec)
            .bind(new_ed25519_secret_key)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if affected > 0 && !settings.ordered {
            self.release_order_of_endpoint(id).await?;
        }
        Ok(affected > 0)
    }

    pub async fn delete_endpoint(
        &self,
        app_id: &AppId,
        id: &EndpointId,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM endpoints WHERE app_id = $1 AND id = $2")
                .bind(app_id)
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// Makes `keys` current and keeps the old one valid until `previous_expires_at`.
    pub async fn rotate_signing_secret(
        &self,
        app_id: &AppId,
        id: &EndpointId,
        keys: &NewSigningKeys<'_>,
        previous_expires_at: i64,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE endpoints SET previous_signing_secret = signing_secret, \
                 previous_ed25519_secret_key = ed25519_secret_key, \
                 previous_secret_expires_at = $3, signing_secret = $4, ed25519_secret_key = $5 \
                 WHERE app_id = $1 AND id = $2",
            )
            .bind(app_id)
            .bind(id)
            .bind(previous_expires_at)
            .bind(keys.hmac_secret)
            .bind(keys.ed25519_secret_key)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
