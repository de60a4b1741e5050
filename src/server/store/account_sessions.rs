//! Console sessions as the account owner sees them (browser, address, when), and the
//! addresses each account signs in from. Never holds the session's cookie or data.

use crate::model::ids::AccountId;

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// One signed-in console session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountSessionRecord {
    pub id: String,
    pub account_id: AccountId,
    pub user_agent: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

const COLUMNS: &str = "id, account_id, user_agent, ip, signed_in_at, last_seen_at";

/// What the account's sign-in history says of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAddress {
    /// The account's first sign-in ever: nothing to compare with.
    FirstEver,
    /// Used by this account within the window.
    Known,
    /// Not used by this account within the window.
    New,
}

impl Store {
    /// Records a new session; returns its id (`ses_…`), which the session keeps.
    pub async fn insert_account_session(
        &self,
        account_id: &AccountId,
        user_agent: &str,
        ip: &str,
    ) -> Result<String, StoreError> {
        let id = new_id("ses");
        let now = now_ms();
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO account_sessions \
                 (id, account_id, user_agent, ip, signed_in_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&id)
            .bind(account_id)
            .bind(user_agent)
            .bind(ip)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(id)
    }

    pub async fn account_session(
        &self,
        id: &str,
    ) -> Result<Option<AccountSessionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM account_sessions WHERE id = $1");
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AccountSessionRecord>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Notes that the session was just used, from `ip`.
    pub async fn touch_account_session(&self, id: &str, ip: &str) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("UPDATE account_sessions SET last_seen_at = $2, ip = $3 WHERE id = $1")
                .bind(id)
                .bind(now_ms())
                .bind(ip)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The account's sessions used since `since_ms`, most recently used first; older rows
    /// (sessions that expired unused) are removed on the way.
    pub async fn account_sessions(
        &self,
        account_id: &AccountId,
        since_ms: i64,
    ) -> Result<Vec<AccountSessionRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM account_sessions WHERE account_id = $1 AND last_seen_at >= $2 \
             ORDER BY last_seen_at DESC, id LIMIT 100"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM account_sessions WHERE account_id = $1 AND last_seen_at < $2")
                .bind(account_id)
                .bind(since_ms)
                .execute(pool)
                .await?;
            sqlx::query_as::<_, AccountSessionRecord>(&sql)
                .bind(account_id)
                .bind(since_ms)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Ends one of the account's sessions; `false` when it has no such session.
    pub async fn delete_account_session(
        &self,
        account_id: &AccountId,
        id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM account_sessions WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted > 0)
    }

    /// Ends every session of the account but `keep`; returns how many ended.
    pub async fn delete_other_account_sessions(
        &self,
        account_id: &AccountId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query(
                "DELETE FROM account_sessions WHERE account_id = $1 AND id <> COALESCE($2, '')",
            )
            .bind(account_id)
            .bind(keep)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?)
    }

    /// Records a sign-in from `ip` and says whether the account had used it since `since_ms`.
    /// Two statements, not a transaction: on SQLite a transaction that reads before it writes
    /// cannot wait for a busy writer (the dispatcher) and fails at once. Two sign-ins racing
    /// from one new address may both be told it is new, which costs one extra mail.
    pub async fn record_sign_in_address(
        &self,
        account_id: &AccountId,
        ip: &str,
        since_ms: i64,
    ) -> Result<SignInAddress, StoreError> {
        let now = now_ms();
        let (known, any): (i64, i64) = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT \
                 COUNT(CASE WHEN ip = $2 AND last_seen_at >= $3 THEN 1 END), COUNT(*) \
                 FROM sign_in_ips WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(ip)
            .bind(since_ms)
            .fetch_one(pool)
            .await
        })?;
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO sign_in_ips (account_id, ip, last_seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, ip) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            )
            .bind(account_id)
            .bind(ip)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(match (known, any) {
            (_, 0) => SignInAddress::FirstEver,
            (0, _) => SignInAddress::New,
            _ => SignInAddress::Known,
        })
    }
}
