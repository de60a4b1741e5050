//! Email verification tokens: made for the address they were mailed to, spent once, and
//! confirming the account's email only while it is still that address.

use crate::model::ids::AccountId;

use super::{on_db, Store, StoreError};
use crate::server::clock::now_ms;

impl Store {
    pub async fn create_email_verification(
        &self,
        account_id: &AccountId,
        email: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO email_verifications \
                 (token_hash, account_id, email, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(email)
            .bind(now_ms())
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Spends every unused link of the account (password resets and verifications): after an
    /// email change, links mailed to the old address must not work.
    pub async fn spend_account_links(&self, account_id: &AccountId) -> Result<(), StoreError> {
        let now = now_ms();
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for table in ["password_resets", "email_verifications"] {
                sqlx::query(&format!(
                    "UPDATE {table} SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL"
                ))
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Spends the token and marks the account's email confirmed if it is still the address
    /// the token was mailed to; returns the account's id when it did.
    pub async fn use_email_verification(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let now = now_ms();
        Ok(on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let spent: Option<(String, String)> = sqlx::query_as(
                "UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1 \
                 AND used_at IS NULL AND expires_at > $2 RETURNING account_id, email",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let mut verified = None;
            if let Some((account_id, email)) = spent {
                let updated = sqlx::query(
                    "UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, $3) \
                     WHERE id = $1 AND email = $2",
                )
                .bind(&account_id)
                .bind(&email)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated > 0 {
                    verified = Some(account_id);
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(verified)
        })?)
    }
}
