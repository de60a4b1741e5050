//! Mail: the SMTP settings, composing a message (plain text and HTML), and the sender that
//! drains the outbox with retries. Requests only queue mail (`Store::queue_mail`); they never
//! wait for an SMTP server.

mod settings;
pub mod templates;

pub use settings::{MailSettings, SmtpUrl};

use crate::server::store::{QueuedMail, Store};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Waits before each retry of a mail the server did not take; then it has failed for good.
const RETRY_DELAYS_SECS: [i64; 8] = [30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800];
/// How long one try may take before its lease lets another sender take the mail.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
const BATCH: i64 = 10;
/// A batch is sent one mail after another: the lease outlasts the slowest batch, so another
/// replica never takes a mail this sender still holds.
const LEASE_MS: i64 = (BATCH * 30 + 60) * 1000;
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Sends mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        Ok(Mailer {
            transport: settings.smtp_url.transport(SEND_TIMEOUT)?,
            from: settings.from.clone(),
        })
    }

    /// Sends one mail now; the error says why the server did not take it.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("the address {to:?} is not valid: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                text.to_owned(),
                html.to_owned(),
            ))
            .map_err(|e| SendError::Permanent(format!("the mail cannot be built: {e}")))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transient(format!(
                "the SMTP server did not answer within {} s",
                SEND_TIMEOUT.as_secs()
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) if refuses_this_mail(&err) => Err(SendError::Permanent(err.to_string())),
            // Server-wide refusals (a wrong password, TLS required, relaying denied) are fixed
            // by the operator, and the mail is sent then: tried again, not dropped.
            Ok(Err(err)) => Err(SendError::Transient(err.to_string())),
        }
    }
}

/// Whether the server refused this mail itself (its mailbox or its content), which no retry
/// changes: 550–553 and 555.
fn refuses_this_mail(err: &lettre::transport::smtp::Error) -> bool {
    err.is_permanent()
        && err.status().is_some_and(|code| {
            ["550", "551", "552", "553", "555"].contains(&code.to_string().as_str())
        })
}

/// Why a mail was not taken: try again later, or never.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

/// Drains the outbox for as long as it runs (it is aborted at shutdown): each due mail is
/// sent, retried on the schedule, or marked failed. Database errors are logged and waited out.
/// A mail cut off mid-send is tried again when its lease ends: sent twice at worst, never lost.
pub async fn run_sender(store: Store, mailer: Mailer) {
    run_sender_with_delays(store, mailer, &RETRY_DELAYS_SECS).await
}

/// `run_sender` with its own retry schedule (seconds before each retry), for tests.
pub async fn run_sender_with_delays(store: Store, mailer: Mailer, delays_secs: &[i64]) {
    loop {
        let sent = match store.lease_due_mail(BATCH, LEASE_MS).await {
            Ok(batch) => {
                let count = batch.len();
                for mail in batch {
                    deliver(&store, &mailer, mail, delays_secs).await;
                }
                count
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the mail outbox");
                0
            }
        };
        if sent == 0 {
            tokio::time::sleep(IDLE_POLL).await;
        }
    }
}

async fn deliver(store: &Store, mailer: &Mailer, mail: QueuedMail, delays_secs: &[i64]) {
    let outcome = mailer
        .send(
            &mail.to_address,
            &mail.subject,
            &mail.text_body,
            &mail.html_body,
        )
        .await;
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(mail_id = %mail.id, "mail sent");
            store.mark_mail_sent(&mail).await
        }
        Err(SendError::Transient(error)) => match delays_secs.get(mail.attempts as usize) {
            Some(delay) => {
                tracing::warn!(mail_id = %mail.id, %error, retry_in_secs = delay, "mail not sent");
                let next = crate::server::clock::now_ms() + delay * 1000;
                store.retry_mail(&mail, next, &error).await
            }
            None => {
                tracing::error!(mail_id = %mail.id, %error, "mail failed after every retry");
                store.fail_mail(&mail, &error).await
            }
        },
        Err(SendError::Permanent(error)) => {
            tracing::error!(mail_id = %mail.id, %error, "mail refused");
            store.fail_mail(&mail, &error).await
        }
    };
    if let Err(err) = recorded {
        // The lease runs out and the mail is tried again: at worst sent twice, never lost.
        tracing::warn!(mail_id = %mail.id, error = %err, "cannot record a mail's outcome");
    }
}
