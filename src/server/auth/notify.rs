//! The account mails auth sends: links (reset, verification) and security notices, queued in
//! the outbox. Links are built from the console's configured address, never a request's Host.

use crate::model::time::utc_time;
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::mail::templates;
use crate::server::store::{OutgoingMail, Store};

#[derive(Clone)]
pub struct AccountMail {
    store: Store,
    /// Where people reach the console; `None` when the server cannot send mail.
    console_url: Option<String>,
}

impl AccountMail {
    pub fn new(store: Store, console_url: Option<String>) -> Self {
        AccountMail {
            store,
            console_url: console_url.map(|url| url.trim_end_matches('/').to_owned()),
        }
    }

    /// Whether this server can send mail (FACEHOOK_SMTP_URL, checked at start-up).
    pub fn enabled(&self) -> bool {
        self.console_url.is_some()
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.console_url.as_deref().unwrap_or_default())
    }

    /// A mail the action depends on: failing to queue it fails the action.
    async fn queue(&self, mail: OutgoingMail) -> Result<(), AppError> {
        if self.enabled() {
            self.store.queue_mail(&mail).await?;
        }
        Ok(())
    }

    /// A notice about something that already happened: failing to queue it is logged, not
    /// turned into an error for a change that was made.
    async fn notify(&self, mail: OutgoingMail) {
        if !self.enabled() {
            return;
        }
        if let Err(err) = self.store.queue_mail(&mail).await {
            tracing::warn!(error = %err, subject = %mail.subject, "could not queue a security notice");
        }
    }

    pub async fn password_reset(&self, to: &str, token: &str) -> Result<(), AppError> {
        let link = self.link(&format!("/reset-password?token={token}"));
        self.queue(templates::password_reset(to, &link)).await
    }

    /// The answer to a reset request for an address without an account: the person who
    /// asked learns to try another address, and the answer on screen stays the same.
    pub async fn no_account(&self, to: &str) -> Result<(), AppError> {
        self.queue(templates::no_account(to)).await
    }

    pub async fn verification(&self, to: &str, token: &str) -> Result<(), AppError> {
        let link = self.link(&format!("/verify-email?token={token}"));
        self.queue(templates::email_verification(to, &link)).await
    }

    /// An invitation to join `org`; `path` is the invitation's link on this console.
    pub async fn invitation(
        &self,
        to: &str,
        org: &str,
        inviter: &str,
        role: &str,
        path: &str,
    ) -> Result<(), AppError> {
        let link = self.link(path);
        self.queue(templates::invitation(to, org, inviter, role, &link))
            .await
    }

    pub async fn password_changed(&self, to: &str) {
        self.notify(templates::password_changed(to, &utc_time(now_ms())))
            .await
    }

    pub async fn new_sign_in(&self, to: &str, ip: &str, browser: &str) {
        let sessions = self.link("/account#sessions");
        self.notify(templates::new_sign_in(
            to,
            &utc_time(now_ms()),
            ip,
            browser,
            &sessions,
        ))
        .await
    }

    pub async fn two_factor_enabled(&self, to: &str) {
        self.notify(templates::two_factor_enabled(to, &utc_time(now_ms())))
            .await
    }

    pub async fn two_factor_disabled(&self, to: &str) {
        self.notify(templates::two_factor_disabled(to, &utc_time(now_ms())))
            .await
    }

    pub async fn email_changed(&self, old_email: &str, new_email: &str) {
        self.notify(templates::email_changed(
            old_email,
            new_email,
            &utc_time(now_ms()),
        ))
        .await
    }
}
