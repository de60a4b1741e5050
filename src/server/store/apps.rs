//! The applications aggregate. Every member-facing query is scoped by `org_id`, so another
//! organization's application is indistinguishable from one that does not exist.

use crate::model::ids::{AccountId, AppId, OrgId};

use super::{is_unique_violation, on_db, Store, StoreError};
use crate::server::clock::now_ms;
use crate::server::secrets::new_public_app_id;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppRecord {
    pub id: AppId,
    /// The organization that owns the application.
    pub org_id: OrgId,
    pub name: String,
    pub plan: String,
    pub api_key_prefix: String,
    pub webhook_token: String,
    pub created_at: i64,
    pub last_event_at: Option<i64>,
    /// Plain `http` endpoints are refused.
    pub https_only: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppListing {
    pub id: AppId,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
    pub last_event_at: Option<i64>,
    pub endpoint_count: i64,
}

/// The credentials an application is created with.
pub struct NewAppCredentials<'a> {
    pub api_key_hash: &'a str,
    pub api_key_prefix: &'a str,
    pub webhook_token: &'a str,
}

// The time of the last event is read from `events` (indexed by app and time) rather than
// kept on the application row, which every event would otherwise have to lock.
const COLUMNS: &str =
    "id, org_id, name, plan, api_key_prefix, webhook_token, created_at, https_only, \
     (SELECT MAX(v.occurred_at) FROM events v WHERE v.app_id = applications.id) AS last_event_at";

impl Store {
    /// Inserts an application under a fresh public ID, drawing again on the rare collision.
    /// `created_by` is the account that created it, kept for the record.
    pub async fn insert_app(
        &self,
        org_id: &OrgId,
        created_by: Option<&AccountId>,
        name: &str,
        plan: &str,
        credentials: NewAppCredentials<'_>,
    ) -> Result<AppRecord, StoreError> {
        let sql = concat!(
            "INSERT INTO applications (id, org_id, owner_id, name, plan, api_key_hash, api_key_prefix, webhook_token, created_at) ",
            // The creator, or for an API token (no account, `None`) the organization's oldest owner:
            // `owner_id` names an account.
            "VALUES ($1, $2, COALESCE((SELECT account_id FROM memberships WHERE org_id = $2 AND account_id = $9), ",
            "(SELECT account_id FROM memberships WHERE org_id = $2 AND role = 'owner' ORDER BY created_at, account_id LIMIT 1), $9), ",
            "$3, $4, $5, $6, $7, $8) ",
            "RETURNING id, org_id, name, plan, api_key_prefix, webhook_token, created_at, https_only, ",
            "CAST(NULL AS BIGINT) AS last_event_at"
        );
        let mut attempts = 0;
        loop {
            attempts += 1;
            let id = new_public_app_id();
            let inserted = on_db!(self.db(), |pool| {
                sqlx::query_as::<_, AppRecord>(sql)
                    .bind(&id)
                    .bind(org_id)
                    .bind(name)
                    .bind(plan)
                    .bind(credentials.api_key_hash)
                    .bind(credentials.api_key_prefix)
                    .bind(credentials.webhook_token)
                    .bind(now_ms())
                    .bind(created_by)
                    .fetch_one(pool)
                    .await
            });
            match inserted {
                Err(err) if is_unique_violation(&err) && attempts < 5 => continue,
                other => return Ok(other?),
            }
        }
    }

    pub async fn apps_of_org(&self, org_id: &OrgId) -> Result<Vec<AppListing>, StoreError> {
        let sql = "SELECT a.id, a.name, a.plan, a.created_at, \
                   (SELECT MAX(v.occurred_at) FROM events v WHERE v.app_id = a.id) AS last_event_at, \
                   (SELECT COUNT(*) FROM endpoints e WHERE e.app_id = a.id) AS endpoint_count \
                   FROM applications a WHERE a.org_id = $1 ORDER BY a.created_at DESC, a.id";
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AppListing>(sql)
                .bind(org_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    pub async fn app_of_org(
        &self,
        org_id: &OrgId,
        id: &AppId,
    ) -> Result<Option<AppRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1 AND org_id = $2");
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AppRecord>(&sql)
                .bind(id)
                .bind(org_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    pub async fn app_by_id(&self, id: &AppId) -> Result<Option<AppRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AppRecord>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// The application an API key belongs to, found by the key's hash.
    pub async fn app_by_api_key_hash(&self, hash: &str) -> Result<Option<AppRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE api_key_hash = $1");
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AppRecord>(&sql)
                .bind(hash)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// The stored hash of an application's API key (tests prove only the hash is kept).
    pub async fn api_key_hash_of(&self, id: &AppId) -> Result<Option<String>, StoreError> {
        let hash = on_db!(self.db(), |pool| {
            sqlx::query_scalar::<_, String>("SELECT api_key_hash FROM applications WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(hash)
    }

    pub async fn rename_app(
        &self,
        org_id: &OrgId,
        id: &AppId,
        name: &str,
    ) -> Result<bool, StoreError> {
        self.update_owned(
            "UPDATE applications SET name = $3 WHERE id = $1 AND org_id = $2",
            org_id,
            id,
            &[name],
        )
        .await
    }

    /// Deletes the application; its endpoints (and later its events) go with it by cascade.
    pub async fn delete_app(&self, org_id: &OrgId, id: &AppId) -> Result<bool, StoreError> {
        self.update_owned(
            "DELETE FROM applications WHERE id = $1 AND org_id = $2",
            org_id,
            id,
            &[],
        )
        .await
    }

    pub async fn set_api_key(
        &self,
        org_id: &OrgId,
        id: &AppId,
        hash: &str,
        prefix: &str,
    ) -> Result<bool, StoreError> {
        self.update_owned(
            "UPDATE applications SET api_key_hash = $3, api_key_prefix = $4 WHERE id = $1 AND org_id = $2",
            org_id,
            id,
            &[hash, prefix],
        )
        .await
    }

    pub async fn set_webhook_token(
        &self,
        org_id: &OrgId,
        id: &AppId,
        token: &str,
    ) -> Result<bool, StoreError> {
        self.update_owned(
            "UPDATE applications SET webhook_token = $3 WHERE id = $1 AND org_id = $2",
            org_id,
            id,
            &[token],
        )
        .await
    }

    /// Operator action: not scoped by organization.
    pub async fn set_plan(&self, id: &AppId, plan: &str) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query("UPDATE applications SET plan = $2 WHERE id = $1")
                .bind(id)
                .bind(plan)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// Runs an organization-scoped statement whose first two parameters are `id` and `org_id`;
    /// true when a row matched.
    async fn update_owned(
        &self,
        sql: &str,
        org_id: &OrgId,
        id: &AppId,
        extra: &[&str],
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            let mut query = sqlx::query(sql).bind(id).bind(org_id);
            for value in extra {
                query = query.bind(*value);
            }
            query.execute(pool).await.map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// Whether the application refuses plain `http` endpoints from now on.
    pub async fn set_https_only(
        &self,
        app_id: &AppId,
        https_only: bool,
    ) -> Result<bool, StoreError> {
        let affected = on_db!(self.db(), |pool| {
            sqlx::query("UPDATE applications SET https_only = $2 WHERE id = $1")
                .bind(app_id)
                .bind(https_only)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// The application's `http` endpoints, which an HTTPS-only switch would leave undeliverable.
    pub async fn plain_http_endpoints(&self, app_id: &AppId) -> Result<i64, StoreError> {
        let count = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM endpoints WHERE app_id = $1 AND url LIKE 'http:%'",
            )
            .bind(app_id)
            .fetch_one(pool)
            .await
        })?;
        Ok(count)
    }
}
