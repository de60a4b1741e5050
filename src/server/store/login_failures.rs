//! Failed sign-in attempts, kept in the database so throttling holds across replicas.

use super::{now_ms, on_db, Store, StoreError};

impl Store {
    /// Records one failure and drops rows older than `window_ms`, which no check reads.
    pub async fn record_login_failure(
        &self,
        email: &str,
        ip: &str,
        window_ms: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        on_db!(self.db(), |pool| {
            sqlx::query("INSERT INTO login_failures (email, ip, failed_at) VALUES ($1, $2, $3)")
                .bind(email)
                .bind(ip)
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
                .bind(now - window_ms)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// When the `limit`-th most recent failure since `since_ms` happened, if there were that
    /// many: the moment that failure leaves the window is when the key may try again.
    pub async fn nth_recent_failure_for_email(
        &self,
        email: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.nth_recent_failure("email", email, since_ms, limit)
            .await
    }

    pub async fn nth_recent_failure_for_ip(
        &self,
        ip: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.nth_recent_failure("ip", ip, since_ms, limit).await
    }

    async fn nth_recent_failure(
        &self,
        column: &'static str,
        value: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT failed_at FROM login_failures WHERE {column} = $1 AND failed_at > $2 \
             ORDER BY failed_at DESC LIMIT 1 OFFSET $3"
        );
        let found: Option<i64> = on_db!(self.db(), |pool| {
            sqlx::query_scalar(&sql)
                .bind(value)
                .bind(since_ms)
                .bind(limit - 1)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    pub async fn clear_login_failures_for_email(&self, email: &str) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(email)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}
