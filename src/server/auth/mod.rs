//! Accounts and sign-in: the rules (who may sign up, throttling, password changes).
//! Knows nothing of HTTP or sessions; the boundary stores the returned account id in the session.

use crate::model::ids::AccountId;

pub mod notify;
mod password;
pub mod recovery;
pub mod session_store;
pub mod sessions;
mod throttle;
pub mod two_factor;
pub mod verification;

pub use notify::AccountMail;
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
    mail: AccountMail,
    policy: AccountPolicy,
}

/// What the operator requires of every account.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountPolicy {
    /// No applications until the account's email is confirmed.
    pub require_verified_email: bool,
    /// Two-factor sign-in, set up at the next sign-in.
    pub require_two_factor: bool,
}

/// A signed-in account, as the boundary needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub is_operator: bool,
    /// Sessions begun in an earlier epoch are over.
    pub session_epoch: i64,
    pub email_verified: bool,
    pub two_factor: bool,
}

impl From<AccountRecord> for Account {
    fn from(record: AccountRecord) -> Self {
        Account {
            id: record.id,
            email: record.email,
            is_operator: record.is_operator,
            session_epoch: record.session_epoch,
            email_verified: record.email_verified_at.is_some(),
            two_factor: record.totp_enabled_at.is_some(),
        }
    }
}

impl Auth {
    pub fn new(
        store: Store,
        signup: SignupPolicy,
        throttle: ThrottlePolicy,
        mail: AccountMail,
        policy: AccountPolicy,
    ) -> Self {
        Auth {
            store,
            signup,
            throttle: Arc::new(throttle),
            mail,
            policy,
        }
    }

    pub fn policy(&self) -> AccountPolicy {
        self.policy
    }

    /// What the console shows of the signed-in account.
    pub fn current_user(&self, account: &Account) -> CurrentUser {
        CurrentUser {
            email: account.email.clone(),
            is_operator: account.is_operator,
            email_verified: account.email_verified,
            must_verify_email: self.policy.require_verified_email && !account.email_verified,
        }
    }

    /// Refuses the console (beyond the account's own pages) to an account without the second
    /// factor the operator requires.
    pub fn ensure_console_use(&self, account: &Account) -> Result<(), AppError> {
        if self.policy.require_two_factor && !account.two_factor {
            return Err(AppError::TwoFactorRequired);
        }
        Ok(())
    }

    /// Refuses what the operator's policy keeps from this account: an unconfirmed email when
    /// confirmation is required (creating applications).
    pub fn ensure_may_create_apps(&self, account: &Account) -> Result<(), AppError> {
        if self.policy.require_verified_email && !account.email_verified {
            return Err(AppError::EmailUnverified);
        }
        Ok(())
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
        if let NewAccount::Created(record) = self.create(email, password, false, false).await? {
            self.send_verification_mail(&record.into()).await?;
        }
        Ok(())
    }

    /// Creates an account regardless of the sign-up policy (the operator's CLI); its email
    /// counts as confirmed, the operator vouching for it.
    pub async fn create_account(
        &self,
        email: &str,
        password: String,
        operator: bool,
    ) -> Result<Account, AppError> {
        match self.create(email, password, operator, true).await? {
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
        operator_vouches: bool,
    ) -> Result<NewAccount, AppError> {
        let email = EmailAddress::parse(email)?;
        let password = NewPassword::parse("password", password)?;
        let hash = password::hash(password).await?;
        Ok(self
            .store
            .insert_account(email.as_str(), &hash, operator, operator_vouches)
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
                let account = Account::from(account);
                if account.two_factor {
                    // Half a sign-in: earlier failures (wrong codes among them) stand until
                    // the code is right, or the password would reset the code's limit.
                    self.throttle.release(&self.store, reservation).await;
                } else {
                    // Clears the reservation with the email's earlier failures.
                    self.store.clear_login_failures_for_email(&email).await?;
                }
                Ok(account)
            }
            // The reservation stays, as this failure.
            None => Err(AppError::BadCredentials),
        }
    }

    /// The account behind a session, if it still exists and is enabled.
    pub async fn account(&self, account_id: &AccountId) -> Result<Option<Account>, AppError> {
        let account = self.store.account_by_id(account_id).await?;
        Ok(account
            .filter(|a| a.disabled_at.is_none())
            .map(Account::from))
    }

    /// Changes the password and ends every other session of the account (`keep_session` is
    /// the one that made the change); returns the new session epoch, which it moves to.
    pub async fn change_password(
        &self,
        account_id: &AccountId,
        keep_session: Option<&str>,
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
        let epoch = self.store.set_password_hash(account_id, &hash).await?;
        self.store
            .delete_other_account_sessions(account_id, keep_session)
            .await?;
        self.mail.password_changed(&account.email).await;
        Ok(epoch)
    }

    /// Checks the account's current password before a sensitive change, counted like a
    /// sign-in attempt: a stolen session cannot guess the password without limit.
    async fn check_password(
        &self,
        account_id: &AccountId,
        password: String,
        client_ip: &str,
    ) -> Result<(), AppError> {
        let Some(account) = self.store.account_by_id(account_id).await? else {
            return Err(AppError::Unauthenticated);
        };
        let reservation = self
            .throttle
            .reserve(&self.store, &account.email, client_ip)
            .await?;
        match password::verify(password, Some(account.password_hash)).await {
            Ok(true) => {
                self.throttle.release(&self.store, reservation).await;
                Ok(())
            }
            // The reservation stays, as this failure.
            Ok(false) => Err(AppError::invalid("password", "The password is incorrect.")),
            Err(err) => {
                self.throttle.release(&self.store, reservation).await;
                Err(err)
            }
        }
    }
}
