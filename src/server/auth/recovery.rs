//! Password recovery: a single-use link (mailed, or printed by the operator's CLI) and setting
//! a new password with it. Asking answers the same whether or not the email has an account.

use super::{password, Auth};
use crate::model::{AppError, EmailAddress, NewPassword};
use crate::server::clock::now_ms;
use crate::server::secrets::{hash_api_key, new_reset_token};
use crate::server::store::AttemptLimit;

/// How long a reset link works.
pub const RESET_VALID_MS: i64 = 30 * 60 * 1000;
const HOUR_MS: i64 = 3_600_000;
const RESETS_PER_EMAIL_HOUR: i64 = 3;
const RESETS_PER_IP_HOUR: i64 = 10;

/// What the mail must carry, when the email has an account.
#[derive(Debug, Clone)]
pub struct ResetToken {
    pub email: String,
    pub token: String,
}

impl Auth {
    /// Counts the request per email and per IP (the same for unknown emails, so the limit
    /// reveals nothing), then mails a reset link when an enabled account has this email.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client_ip: &str,
    ) -> Result<(), AppError> {
        let email = EmailAddress::parse(email)?;
        let limit = |max| AttemptLimit {
            since_ms: now_ms() - HOUR_MS,
            max,
        };
        let store = &self.store;
        let allowed = store
            .reserve_rate(&format!("reset-ip:{client_ip}"), limit(RESETS_PER_IP_HOUR))
            .await?
            && store
                .reserve_rate(
                    &format!("reset-email:{}", email.as_str()),
                    limit(RESETS_PER_EMAIL_HOUR),
                )
                .await?;
        if !allowed {
            return Err(AppError::TooManyAttempts {
                retry_in_minutes: 60,
            });
        }
        // The same statements and one mail either way, so neither the answer nor its
        // timing tells whether the email has an account.
        match self.reset_token_for(email.as_str()).await? {
            Some(reset) => self.mail.password_reset(&reset.email, &reset.token).await,
            None => self.mail.no_account(email.as_str()).await,
        }
    }

    /// A reset token for the enabled account with this email, without counting (also the
    /// operator's CLI).
    pub async fn reset_token_for(&self, email: &str) -> Result<Option<ResetToken>, AppError> {
        let email = EmailAddress::parse(email)?;
        let token = new_reset_token();
        let created = self
            .store
            .create_password_reset_for_email(
                email.as_str(),
                &hash_api_key(&token),
                now_ms() + RESET_VALID_MS,
            )
            .await?;
        Ok(created.map(|_| ResetToken {
            email: email.as_str().to_owned(),
            token,
        }))
    }

    /// Whether a reset link still works, so its page can say so before anyone types.
    pub async fn reset_token_usable(&self, token: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .password_reset_usable(&hash_api_key(token.trim()))
            .await?)
    }

    /// Sets the new password with a reset token, signs the account out everywhere, and mails
    /// the owner that the password changed.
    pub async fn reset_password(&self, token: &str, new_password: String) -> Result<(), AppError> {
        let new_password = NewPassword::parse("password", new_password)?;
        let token_hash = hash_api_key(token.trim());
        if !self.store.password_reset_usable(&token_hash).await? {
            return Err(link_spent());
        }
        let hash = password::hash(new_password).await?;
        let account_id = self
            .store
            .use_password_reset(&token_hash, &hash)
            .await?
            .ok_or_else(link_spent)?;
        let account = self
            .store
            .account_by_id(&account_id)
            .await?
            .ok_or_else(link_spent)?;
        self.store
            .delete_other_account_sessions(&account.id, None)
            .await?;
        self.mail.password_changed(&account.email).await;
        Ok(())
    }
}

fn link_spent() -> AppError {
    AppError::invalid(
        "token",
        "This reset link has expired or was already used. Ask for a new one.",
    )
}
