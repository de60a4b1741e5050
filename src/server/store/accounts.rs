//! The accounts aggregate: who may sign in, with which password hash, and as what role.

use crate::model::ids::AccountId;

use super::orgs::{insert_org_with_owner, personal_org_id};
use super::{is_unique_violation, new_id, on_db, Store, StoreError};
use crate::model::org::personal_org_name;
use crate::server::clock::now_ms;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: AccountId,
    pub email: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    /// Sessions begun in an earlier epoch are over (see `set_password_hash`).
    pub session_epoch: i64,
    /// When the current email was confirmed through a mailed link; `None` until then.
    pub email_verified_at: Option<i64>,
    /// When two-factor sign-in was turned on; `None` while it is off.
    pub totp_enabled_at: Option<i64>,
}

/// Result of trying to create an account.
#[derive(Debug)]
pub enum NewAccount {
    Created(AccountRecord),
    EmailTaken,
}

const COLUMNS: &str = "id, email, password_hash, is_operator, disabled_at, created_at, \
     session_epoch, email_verified_at, totp_enabled_at";

impl Store {
    /// Creates an account. It is an operator when asked, or when it is the first account
    /// (decided inside the INSERT so no separate count can race it on one connection).
    /// `verified` marks its email confirmed (an operator vouching for it, or no mail to check).
    pub async fn insert_account(
        &self,
        email: &str,
        password_hash: &str,
        operator: bool,
        verified: bool,
    ) -> Result<NewAccount, StoreError> {
        let sql = format!(
            "INSERT INTO accounts (id, email, password_hash, is_operator, created_at, \
             email_verified_at) \
             SELECT $1, $2, $3, ($4 OR NOT EXISTS (SELECT 1 FROM accounts)), $5, \
             CASE WHEN $6 THEN $5 END \
             RETURNING {COLUMNS}"
        );
        let id = AccountId::from(new_id(AccountId::PREFIX));
        let org_id = personal_org_id(&id);
        // The account and its personal organization exist together or not at all. The
        // block keeps `?` inside it, so a taken email reaches the match below.
        let inserted = on_db!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            let account = sqlx::query_as::<_, AccountRecord>(&sql)
                .bind(&id)
                .bind(email)
                .bind(password_hash)
                .bind(operator)
                .bind(now_ms())
                .bind(verified)
                .fetch_one(&mut *tx)
                .await?;
            insert_org_with_owner(&mut tx, &org_id, personal_org_name(email), &id).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(account)
        }
        .await);
        match inserted {
            Ok(account) => Ok(NewAccount::Created(account)),
            Err(err) if is_unique_violation(&err) => Ok(NewAccount::EmailTaken),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE email = $1");
        let found = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AccountRecord>(&sql)
                .bind(email)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    pub async fn account_by_id(&self, id: &AccountId) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let found = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AccountRecord>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    /// Sets a new password and starts a new session epoch, which ends every session begun
    /// before; returns the new epoch for the session that made the change.
    pub async fn set_password_hash(
        &self,
        id: &AccountId,
        password_hash: &str,
    ) -> Result<i64, StoreError> {
        let epoch = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "UPDATE accounts SET password_hash = $1, session_epoch = session_epoch + 1 \
                 WHERE id = $2 RETURNING session_epoch",
            )
            .bind(password_hash)
            .bind(id)
            .fetch_one(pool)
            .await
        })?;
        Ok(epoch)
    }

    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        let count: i64 = on_db!(self.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
                .fetch_one(pool)
                .await
        })?;
        Ok(count)
    }

    /// Changes the account's email; it is unconfirmed until its link is followed (or at once
    /// when `verified`). `Ok(false)` when another account has the email.
    pub async fn set_account_email(
        &self,
        id: &AccountId,
        email: &str,
        verified: bool,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let changed = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE accounts SET email = $1, email_verified_at = CASE WHEN $3 THEN $4 END \
                 WHERE id = $2",
            )
            .bind(email)
            .bind(id)
            .bind(verified)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        });
        match changed {
            Ok(_) => Ok(true),
            Err(err) if is_unique_violation(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Marks the account's current email confirmed (the operator's CLI vouching for it).
    pub async fn mark_email_verified(&self, id: &AccountId) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE accounts SET email_verified_at = $2 \
                 WHERE id = $1 AND email_verified_at IS NULL",
            )
            .bind(id)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}
