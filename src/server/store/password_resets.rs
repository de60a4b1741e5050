//! Password reset tokens: created for an account, used once within their validity, and the
//! new password set in the same transaction as the token is spent.

use super::{on_db, Store, StoreError};
use crate::model::ids::AccountId;
use crate::server::clock::now_ms;

impl Store {
    /// Makes a reset token for the enabled account with `email`, in one statement that does
    /// the same work whether or not there is one; returns the account's id when there is.
    pub async fn create_password_reset_for_email(
        &self,
        email: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) \
                 SELECT $1, id, $3, $4 FROM accounts WHERE email = $2 AND disabled_at IS NULL \
                 RETURNING account_id",
            )
            .bind(token_hash)
            .bind(email)
            .bind(now_ms())
            .bind(expires_at)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Whether the token can still be used (unused, not expired).
    pub async fn password_reset_usable(&self, token_hash: &str) -> Result<bool, StoreError> {
        let found: i64 = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM password_resets WHERE token_hash = $1 \
                 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now_ms())
            .fetch_one(pool)
            .await
        })?;
        Ok(found > 0)
    }

    /// Spends the token and sets the new password, starting a new session epoch (every
    /// session ends) and spending the account's other reset tokens; returns the account's id,
    /// or `None` when the token is unknown, used or expired. One transaction: a token is
    /// spent exactly once, however many requests race with it.
    pub async fn use_password_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let now = now_ms();
        let account = on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let account: Option<AccountId> = sqlx::query_scalar(
                "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 \
                 AND used_at IS NULL AND expires_at > $2 RETURNING account_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(account) = &account {
                sqlx::query(
                    "UPDATE accounts SET password_hash = $1, session_epoch = session_epoch + 1 \
                     WHERE id = $2",
                )
                .bind(password_hash)
                .bind(account)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE password_resets SET used_at = $2 \
                     WHERE account_id = $1 AND used_at IS NULL",
                )
                .bind(account)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(account)
        })?;
        Ok(account)
    }
}
