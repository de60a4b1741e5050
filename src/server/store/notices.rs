//! One-time notices: written once, removed by the read that shows them (DELETE … RETURNING),
//! so two concurrent page loads cannot both show the same notice.

use crate::model::ids::AccountId;

use super::{on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// Notices not shown within this long are dropped.
const NOTICE_TTL_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Flash,
    IssuedApiKey,
    /// The outcome of a test event sent from a plain form, kept per endpoint for its card.
    TestResult,
}

impl NoticeKind {
    fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Flash => "flash",
            NoticeKind::IssuedApiKey => "api_key",
            NoticeKind::TestResult => "test_result",
        }
    }
}

impl Store {
    /// Replaces any earlier notice of the same kind (and subject: the application or endpoint
    /// it is `about`) with `body`.
    pub async fn put_notice(
        &self,
        account_id: &AccountId,
        kind: NoticeKind,
        about: Option<&str>,
        body: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM notices WHERE (account_id = $1 AND kind = $2) OR created_at < $3",
            )
            .bind(account_id)
            .bind(kind.as_str())
            .bind(now - NOTICE_TTL_MS)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO notices (account_id, kind, app_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(account_id)
                .bind(kind.as_str())
                .bind(about)
                .bind(body)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Removes and returns the account's notice of `kind` (`about` that application or
    /// endpoint, when given).
    pub async fn take_notice(
        &self,
        account_id: &AccountId,
        kind: NoticeKind,
        about: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let bodies: Vec<String> = on_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "DELETE FROM notices WHERE account_id = $1 AND kind = $2 \
                 AND ($3 IS NULL OR app_id = $3) AND created_at >= $4 RETURNING body",
            )
            .bind(account_id)
            .bind(kind.as_str())
            .bind(about)
            .bind(now_ms() - NOTICE_TTL_MS)
            .fetch_all(pool)
            .await
        })?;
        Ok(bodies.into_iter().next())
    }
}
