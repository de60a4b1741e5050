//! Email verification: a single-use link mailed at sign-up, on request (throttled) and after
//! an email change; following it confirms the address it was sent to.

use super::{Account, Auth};
use crate::model::{AppError, EmailAddress};
use crate::server::clock::now_ms;
use crate::server::secrets::{hash_api_key, new_verification_token};
use crate::server::store::AttemptLimit;

/// How long a verification link works.
const VERIFY_VALID_MS: i64 = 48 * 3_600_000;
const VERIFICATION_MAILS_PER_HOUR: i64 = 3;
const EMAIL_CHANGES_PER_HOUR: i64 = 3;

impl Auth {
    /// Mails a link confirming the account's email; nothing when it is confirmed already or
    /// the server cannot send mail.
    pub(super) async fn send_verification_mail(&self, account: &Account) -> Result<(), AppError> {
        if !self.mail.enabled() || account.email_verified {
            return Ok(());
        }
        let token = new_verification_token();
        self.store
            .create_email_verification(
                &account.id,
                &account.email,
                &hash_api_key(&token),
                now_ms() + VERIFY_VALID_MS,
            )
            .await?;
        self.mail.verification(&account.email, &token).await
    }

    /// Mails a new verification link, at most three an hour per account.
    pub async fn resend_verification(&self, account: &Account) -> Result<(), AppError> {
        if account.email_verified {
            return Err(AppError::invalid(
                "email",
                "Your email is confirmed already.",
            ));
        }
        if !self.mail.enabled() {
            return Err(AppError::invalid(
                "email",
                "This server cannot send mail: ask its operator to set FACEHOOK_SMTP_URL, or to confirm your email with `facehook verify-email --email …`.",
            ));
        }
        let limit = AttemptLimit {
            since_ms: now_ms() - 3_600_000,
            max: VERIFICATION_MAILS_PER_HOUR,
        };
        if !self
            .store
            .reserve_rate(&format!("verify:{}", account.id), limit)
            .await?
        {
            return Err(AppError::TooManyAttempts {
                retry_in_minutes: 60,
            });
        }
        self.send_verification_mail(account).await
    }

    /// Confirms the email a link was mailed to, if the account still has that email.
    pub async fn verify_email(&self, token: &str) -> Result<(), AppError> {
        match self
            .store
            .use_email_verification(&hash_api_key(token.trim()))
            .await?
        {
            Some(_) => Ok(()),
            None => Err(AppError::invalid(
                "token",
                "This link has expired, was already used, or is for an email the account no longer has. Send a new one from your account page.",
            )),
        }
    }

    /// Changes the account's email (the password confirms it is the owner, 3 changes an hour);
    /// the new address must be confirmed again, the old one is told, every other session ends
    /// and links mailed to the old address stop working.
    pub async fn change_email(
        &self,
        account: &Account,
        keep_session: &str,
        new_email: &str,
        password: String,
        client_ip: &str,
    ) -> Result<(), AppError> {
        let new_email = EmailAddress::parse(new_email)?;
        if new_email.as_str() == account.email {
            return Err(AppError::invalid("email", "That is your email already."));
        }
        self.check_password(&account.id, password, client_ip)
            .await?;
        let limit = AttemptLimit {
            since_ms: now_ms() - 3_600_000,
            max: EMAIL_CHANGES_PER_HOUR,
        };
        if !self
            .store
            .reserve_rate(&format!("email-change:{}", account.id), limit)
            .await?
        {
            return Err(AppError::TooManyAttempts {
                retry_in_minutes: 60,
            });
        }
        if !self
            .store
            .set_account_email(&account.id, new_email.as_str(), false)
            .await?
        {
            return Err(AppError::invalid(
                "email",
                "Another account uses this email.",
            ));
        }
        self.store
            .delete_other_account_sessions(&account.id, Some(keep_session))
            .await?;
        self.store.spend_account_links(&account.id).await?;
        self.mail
            .email_changed(&account.email, new_email.as_str())
            .await;
        let changed = Account {
            email: new_email.as_str().to_owned(),
            email_verified: false,
            ..account.clone()
        };
        // The change is made: a verification mail that cannot be queued can be sent again.
        if let Err(err) = self.send_verification_mail(&changed).await {
            tracing::warn!(error = %err, "could not queue the verification mail after an email change");
        }
        Ok(())
    }

    /// Marks the email of the account with this email confirmed (the operator's CLI);
    /// `false` when no account has it.
    pub async fn verify_email_by_operator(&self, email: &str) -> Result<bool, AppError> {
        let email = EmailAddress::parse(email)?;
        let Some(account) = self.store.account_by_email(email.as_str()).await? else {
            return Ok(false);
        };
        self.store.mark_email_verified(&account.id).await?;
        Ok(true)
    }
}
