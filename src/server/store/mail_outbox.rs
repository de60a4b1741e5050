//! The mail outbox: mail queued by requests, leased by the sender while it tries, then marked
//! sent, due again later, or failed for good. Nothing here talks SMTP.

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// One queued mail, as the sender reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedMail {
    pub id: String,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// Tries made before this one.
    pub attempts: i64,
    pub created_at: i64,
    /// This lease's end: its outcome is recorded only while the lease is still this one.
    pub lease_until: i64,
}

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Store {
    /// Queues a mail, due now; returns its id once it is stored.
    pub async fn queue_mail(&self, mail: &OutgoingMail) -> Result<String, StoreError> {
        let id = new_id("mail");
        let now = now_ms();
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO mail_outbox (id, to_address, subject, text_body, html_body, \
                 created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&id)
            .bind(&mail.to)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(id)
    }

    /// Leases up to `limit` due mails for `lease_ms`. The row's own conditions are checked
    /// again by the UPDATE, so two senders (replicas) never lease one mail at once.
    pub async fn lease_due_mail(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        const DUE: &str = "sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1)";
        let sql = format!(
            "UPDATE mail_outbox SET lease_until = $2 WHERE {DUE} AND id IN \
             (SELECT id FROM mail_outbox WHERE {DUE} ORDER BY next_attempt_at LIMIT $3) \
             RETURNING id, to_address, subject, text_body, html_body, attempts, created_at, \
             lease_until"
        );
        let now = now_ms();
        let leased = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, QueuedMail>(&sql)
                .bind(now)
                .bind(now + lease_ms)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        Ok(leased)
    }

    /// The SMTP server took it.
    pub async fn mark_mail_sent(&self, mail: &QueuedMail) -> Result<(), StoreError> {
        self.finish_mail("sent_at = $2, last_error = $3", mail, now_ms(), None)
            .await
    }

    /// Not taken: tried again at `next_attempt_at`.
    pub async fn retry_mail(
        &self,
        mail: &QueuedMail,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.finish_mail(
            "next_attempt_at = $2, last_error = $3",
            mail,
            next_attempt_at,
            Some(error),
        )
        .await
    }

    /// Refused for good, or out of tries.
    pub async fn fail_mail(&self, mail: &QueuedMail, error: &str) -> Result<(), StoreError> {
        self.finish_mail(
            "failed_at = $2, last_error = $3",
            mail,
            now_ms(),
            Some(error),
        )
        .await
    }

    /// Records a try's outcome (`set`), only while the mail's lease is still the one this
    /// sender took: a late sender never overwrites another's result.
    async fn finish_mail(
        &self,
        set: &str,
        mail: &QueuedMail,
        at: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE mail_outbox SET {set}, lease_until = NULL, attempts = attempts + 1 \
             WHERE id = $1 AND lease_until = $4"
        );
        on_db!(self.db(), |pool| {
            sqlx::query(&sql)
                .bind(&mail.id)
                .bind(at)
                .bind(error)
                .bind(mail.lease_until)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// How many tries a mail has had, and the last one's error.
    pub async fn mail_attempts(&self, id: &str) -> Result<(i64, Option<String>), StoreError> {
        let found = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, (i64, Option<String>)>(
                "SELECT attempts, last_error FROM mail_outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_one(pool)
            .await
        })?;
        Ok(found)
    }

    /// Mails not yet taken by the SMTP server, and mails that failed for good.
    pub async fn mail_backlog(&self) -> Result<(i64, i64), StoreError> {
        let counts = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT \
                 CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM mail_outbox",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(counts)
    }
}
