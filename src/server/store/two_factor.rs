//! Two-factor sign-in state: the TOTP secret (pending while enrolling, then active), the last
//! accepted time step, and the hashed recovery codes. Knows nothing of codes' arithmetic.

use crate::model::ids::AccountId;

use super::{on_db, Store, StoreError};
use crate::server::clock::now_ms;

impl Store {
    /// Keeps a freshly generated secret until a code confirms it.
    pub async fn set_pending_totp(
        &self,
        account_id: &AccountId,
        secret: &str,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("UPDATE accounts SET totp_pending_secret = $2 WHERE id = $1")
                .bind(account_id)
                .bind(secret)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The secret being enrolled, and the active one.
    pub async fn totp_secrets(
        &self,
        account_id: &AccountId,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        let secrets = on_db!(self.db(), |pool| {
            sqlx::query_as("SELECT totp_pending_secret, totp_secret FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(secrets.unwrap_or((None, None)))
    }

    /// Turns two-factor sign-in on with the pending secret (when it is still `secret`), the
    /// step its confirming code belongs to, and new recovery codes. `false` when the pending
    /// secret changed meanwhile (another tab started over).
    pub async fn enable_totp(
        &self,
        account_id: &AccountId,
        secret: &str,
        step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let enabled = sqlx::query(
                "UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
                 totp_enabled_at = $3, totp_last_step = $4 \
                 WHERE id = $1 AND totp_pending_secret = $2",
            )
            .bind(account_id)
            .bind(secret)
            .bind(now)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if enabled {
                sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                for hash in recovery_code_hashes {
                    sqlx::query(
                        "INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)",
                    )
                    .bind(account_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(enabled)
        })?)
    }

    /// Accepts a code's time step once: `true` only when it is later than every step accepted
    /// before, decided in one statement so two requests with the same code cannot both pass.
    pub async fn accept_totp_step(
        &self,
        account_id: &AccountId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let accepted = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 \
                 AND totp_secret IS NOT NULL \
                 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            )
            .bind(account_id)
            .bind(step)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(accepted > 0)
    }

    /// Spends a recovery code; `false` when the account has no such unused code.
    pub async fn use_recovery_code(
        &self,
        account_id: &AccountId,
        code_hash: &str,
    ) -> Result<bool, StoreError> {
        let used = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE recovery_codes SET used_at = $3 \
                 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(account_id)
            .bind(code_hash)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(used > 0)
    }

    /// Replaces every recovery code of an account that has two-factor sign-in on.
    pub async fn replace_recovery_codes(
        &self,
        account_id: &AccountId,
        code_hashes: &[String],
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                    .bind(account_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn unused_recovery_codes(&self, account_id: &AccountId) -> Result<i64, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
            )
            .bind(account_id)
            .fetch_one(pool)
            .await
        })?)
    }

    /// Turns two-factor sign-in off and forgets the secret and the recovery codes.
    pub async fn disable_totp(&self, account_id: &AccountId) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, \
                 totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
            )
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }
}
