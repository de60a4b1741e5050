//! Operator views across all accounts. Only the operator boundary may call these.

use super::{on_db, Store, StoreError};
use crate::model::ids::AccountId;
use crate::server::clock::now_ms;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountOverview {
    pub id: AccountId,
    pub email: String,
    pub is_operator: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub app_count: i64,
    pub email_verified_at: Option<i64>,
    pub totp_enabled_at: Option<i64>,
}

impl Store {
    pub async fn account_overview(&self) -> Result<Vec<AccountOverview>, StoreError> {
        let sql = "SELECT a.id, a.email, a.is_operator, a.disabled_at, a.created_at, \
                   a.email_verified_at, a.totp_enabled_at, \
                   (SELECT COUNT(*) FROM applications p JOIN memberships m ON m.org_id = p.org_id \
                    WHERE m.account_id = a.id) AS app_count \
                   FROM accounts a ORDER BY a.created_at, a.email";
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AccountOverview>(sql)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// Every application with its organization's name, for the operator's plan management.
    pub async fn all_apps(&self) -> Result<Vec<(super::AppListing, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            app: super::AppListing,
            org_name: String,
        }
        let sql = "SELECT p.id, p.name, p.plan, p.created_at, \
                   (SELECT MAX(v.occurred_at) FROM events v WHERE v.app_id = p.id) AS last_event_at, \
                   (SELECT COUNT(*) FROM endpoints e WHERE e.app_id = p.id) AS endpoint_count, \
                   o.name AS org_name \
                   FROM applications p JOIN organizations o ON o.id = p.org_id ORDER BY o.name, p.created_at";
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, Row>(sql).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(|r| (r.app, r.org_name)).collect())
    }

    pub async fn set_account_disabled(
        &self,
        id: &AccountId,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let disabled_at = disabled.then(now_ms);
        let affected = on_db!(self.db(), |pool| {
            sqlx::query("UPDATE accounts SET disabled_at = $2 WHERE id = $1")
                .bind(id)
                .bind(disabled_at)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
