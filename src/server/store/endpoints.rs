//! Webhook endpoints. Callers pass the application id they already checked ownership of;
//! every query is scoped by it, so an endpoint id from another application matches nothing.

use crate::model::ids::{AppId, EndpointId};

use super::{new_id, on_db, Store, StoreError};
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
}

const COLUMNS: &str = "id, app_id, url, description, enabled, events, include_payload, timeout_secs, \
     signing_secret, previous_signing_secret, previous_secret_expires_at, disabled_reason, disabled_at, \
     consecutive_failures, created_at";

impl Store {
    /// Adds an endpoint unless the application already has `max_per_app`; `None` then.
    /// The limit is checked inside the INSERT so two concurrent saves cannot both pass it.
    pub async fn insert_endpoint(
        &self,
        app_id: &AppId,
        settings: &EndpointSettings,
        signing_secret: &str,
        max_per_app: i64,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let sql = format!(
            "INSERT INTO endpoints (id, app_id, url, description, enabled, events, include_payload, timeout_secs, signing_secret, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
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
                .bind(signing_secret)
                .bind(now_ms())
                .bind(max_per_app)
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
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE endpoints SET url = $3, description = $4, enabled = $5, events = $6, \
                 include_payload = $7, timeout_secs = $8, \
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
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
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

    /// Makes `new_secret` current and keeps the old one valid until `previous_expires_at`.
    pub async fn rotate_signing_secret(
        &self,
        app_id: &AppId,
        id: &EndpointId,
        new_secret: &str,
        previous_expires_at: i64,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE endpoints SET previous_signing_secret = signing_secret, \
                 previous_secret_expires_at = $3, signing_secret = $4 \
                 WHERE app_id = $1 AND id = $2",
            )
            .bind(app_id)
            .bind(id)
            .bind(previous_expires_at)
            .bind(new_secret)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
