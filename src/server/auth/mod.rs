//! Accounts and sign-in: the rules (who may sign up, throttling, password changes).
//! Knows nothing of HTTP or sessions; the boundary stores the returned account id in the session.

mod password;
pub mod recovery;
pub mod session_store;
mod throttle;

pub use password::hash_secret;
pub use throttle::ThrottlePolicy;

use crate::model::{AppError, CurrentUser, EmailAddress, NewPassword};
use crate::server::config::SignupPolicy;
use crate::server::store::{AccountRecord, NewAccount, Store};
use std::sync::Arc;

#[derive(Clone)]
pub struct Auth {
    store: Store,
    signup: SignupPolicy,
    throttle: Arc<ThrottlePolicy>,
}

/// A signed-in account, as the boundary needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub is_operator: bool,
    /// Sessions begun in an earlier epoch are over.
    pub session_epoch: i64,
}

impl From<AccountRecord> for Account {
    fn from(record: AccountRecord) -> Self {
        Account {
            id: record.id,
            email: record.email,
            is_operator: record.is_operator,
            session_epoch: record.session_epoch,
        }
    }
}

impl From<Account> for CurrentUser {
    fn from(account: Account) -> Self {
        CurrentUser {
            email: account.email,
            is_operator: account.is_operator,
        }
    }
}

impl Auth {
    pub fn new(store: Store, signup: SignupPolicy, throttle: ThrottlePolicy) -> Self {
        Auth {
            store,
            signup,
            throttle: Arc::new(throttle),
        }
    }

    /// Self-service sign-up from the console; refused when the operator closed it, and
    /// throttled per client IP. An email that already has an account is answered exactly like
    /// a new one (same hashing work, same result) and changes nothing, so sign-up does not
    /// reveal who has an account; the caller then signs in as usual.
    pub async fn sign_up(
        &self,
        email: &str,
        password: String,
        client_ip: &str,
    ) -> Result<(), AppError> {
        if self.signup == SignupPolicy::Closed {
            return Err(AppError::SignupClosed);
        }
        self.throttle.reserve_signup(&self.store, client_ip).await?;
        self.create(email, password, false).await?;
        Ok(())
    }

    /// Creates an account regardless of the sign-up policy (the operator's CLI).
    pub async fn create_account(
        &self,
        email: &str,
        password: String,
        operator: bool,
    ) -> Result<Account, AppError> {
        match self.create(email, password, operator).await? {
            NewAccount::Created(record) => Ok(record.into()),
            NewAccount::EmailTaken => Err(AppError::invalid(
                "email",
                "An account with this email already exists; sign in instead.",
            )),
        }
    }

    /// Validates, hashes (always, so a taken email costs the same) and inserts.
    async fn create(
        &self,
        email: &str,
        password: String,
        operator: bool,
    ) -> Result<NewAccount, AppError> {
        let email = EmailAddress::parse(email)?;
        let password = NewPassword::parse("password", password)?;
        let hash = password::hash(password).await?;
        Ok(self
            .store
            .insert_account(email.as_str(), &hash, operator)
            .await?)
    }

    /// Checks the credentials, throttling by email and by client IP. Unknown emails cost
    /// the same hashing work as known ones so timing does not reveal which exist.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        client_ip: &str,
    ) -> Result<Account, AppError> {
        // A malformed email can never match; treat it as a normal failure to keep one path.
        let email = EmailAddress::parse(email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        let reservation = self
            .throttle
            .reserve(&self.store, &email, client_ip)
            .await?;
        let judged = async {
            let account = self.store.account_by_email(&email).await?;
            let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
            let password_ok = password::verify(password, stored_hash).await?;
            Ok::<_, AppError>(account.filter(|_| password_ok))
        };
        let account = match judged.await {
            Ok(account) => account,
            Err(err) => {
                // Not a wrong password: the attempt does not count against the caller.
                self.throttle.release(&self.store, reservation).await;
                return Err(err);
            }
        };
        match account {
            Some(account) => {
                if account.disabled_at.is_some() {
                    return Err(AppError::AccountDisabled);
                }
                // Clears the reservation with the email's earlier failures.
                self.store.clear_login_failures_for_email(&email).await?;
                Ok(account.into())
            }
            // The reservation stays, as this failure.
            None => Err(AppError::BadCredentials),
        }
    }

    /// The account behind a session, if it still exists and is enabled.
    pub async fn account(&self, account_id: &str) -> Result<Option<Account>, AppError> {
        let account = self.store.account_by_id(account_id).await?;
        Ok(account
            .filter(|a| a.disabled_at.is_none())
            .map(Account::from))
    }

    /// Changes the password and ends every session of the account; returns the new session
    /// epoch, which the session that made the change moves to.
    pub async fn change_password(
        &self,
        account_id: &str,
        current_password: String,
        new_password: String,
    ) -> Result<i64, AppError> {
        let Some(account) = self.store.account_by_id(account_id).await? else {
            return Err(AppError::Unauthenticated);
        };
        let new_password = NewPassword::parse("new_password", new_password)?;
        if !password::verify(current_password, Some(account.password_hash)).await? {
            return Err(AppError::invalid(
                "current_password",
                "Current password is incorrect.",
            ));
        }
        let hash = password::hash(new_password).await?;
        Ok(self.store.set_password_hash(account_id, &hash).await?)
    }
}
