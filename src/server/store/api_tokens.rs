//! Organization API tokens (stored as SHA-256 only) and the replies kept for their
//! `Idempotency-Key`s. A token is live until it is revoked or its expiry passes.

use crate::model::ids::{AccountId, OrgId};

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_by_email: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// 1 while its maker may still make it (see `MAKER_MAY`), else 0.
    pub active: i64,
}

/// The stored parts of a new token.
pub struct NewApiToken<'a> {
    pub org_id: &'a OrgId,
    pub name: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: Option<&'a AccountId>,
    pub expires_at: Option<i64>,
}

/// What an `Idempotency-Key` already stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The key is now held by this request.
    Reserved,
    /// Another request with this key is still running.
    Running { request_hash: String },
    /// The first request finished with this reply.
    Done {
        request_hash: String,
        status_code: i64,
        body: String,
    },
}

/// How long a key is remembered.
pub const TOKEN_REPLY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// A request still "running" after this long died with its process; its key may be reused.
const RUNNING_KEY_ABANDONED_MS: i64 = 5 * 60 * 1000;

/// A token acts only while the account that made it could make it now: an enabled member
/// who is an owner, or an admin for a token that is not an owner's. Demoting, removing or
/// disabling its maker silences the token at once, so it never outlives the power behind it.
const MAKER_MAY: &str =
    "EXISTS (SELECT 1 FROM memberships m JOIN accounts ma ON ma.id = m.account_id \
     WHERE m.org_id = t.org_id AND m.account_id = t.created_by AND ma.disabled_at IS NULL \
     AND (m.role = 'owner' OR (m.role = 'admin' AND t.role <> 'owner')))";

/// The condition a token `t` must meet to act, with the current time as parameter `now`.
pub(super) fn live(now: &str) -> String {
    format!(
        "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > {now}) AND {MAKER_MAY}"
    )
}

fn columns() -> String {
    format!(
        "t.id, t.org_id, o.name AS org_name, t.name, t.role, t.prefix, t.created_by, \
         COALESCE(a.email, '') AS created_by_email, t.created_at, t.expires_at, t.last_used_at, \
         t.last_used_ip, CAST(CASE WHEN {MAKER_MAY} THEN 1 ELSE 0 END AS BIGINT) AS active"
    )
}

const FROM: &str = "FROM api_tokens t JOIN organizations o ON o.id = t.org_id \
     LEFT JOIN accounts a ON a.id = t.created_by";
/// Tokens an organization may hold at once (not revoked).
pub const MAX_TOKENS_PER_ORG: i64 = 100;

impl Store {
    pub async fn insert_api_token(&self, token: NewApiToken<'_>) -> Result<String, StoreError> {
        let id = new_id("tok");
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (id, org_id, name, role, token_hash, prefix, created_by, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(token.org_id)
            .bind(token.name)
            .bind(token.role)
            .bind(token.token_hash)
            .bind(token.prefix)
            .bind(token.created_by)
            .bind(now_ms())
            .bind(token.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(id)
    }

    /// The organization's tokens that are not revoked (expired ones included), newest first.
    pub async fn api_tokens(&self, org_id: &OrgId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {} {FROM} WHERE t.org_id = $1 AND t.revoked_at IS NULL \
             ORDER BY t.created_at DESC, t.id DESC LIMIT {MAX_TOKENS_PER_ORG}",
            columns()
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, ApiTokenRecord>(&sql)
                .bind(org_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// The live token with this hash.
    pub async fn api_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {} {FROM} WHERE t.token_hash = $1 AND {}",
            columns(),
            live("$2")
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, ApiTokenRecord>(&sql)
                .bind(token_hash)
                .bind(now_ms())
                .fetch_optional(pool)
                .await
        })?)
    }

    /// One of the organization's tokens that is not revoked.
    pub async fn api_token(
        &self,
        org_id: &OrgId,
        id: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {} {FROM} WHERE t.org_id = $1 AND t.id = $2 AND t.revoked_at IS NULL",
            columns()
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, ApiTokenRecord>(&sql)
                .bind(org_id)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Revokes one of the organization's tokens; `None` when it has no such live token.
    pub async fn revoke_api_token(
        &self,
        org_id: &OrgId,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let name: Option<(String,)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND id = $2 \
                 AND revoked_at IS NULL RETURNING name",
            )
            .bind(org_id)
            .bind(id)
            .bind(now_ms())
            .fetch_optional(pool)
            .await
        })?;
        Ok(name.map(|(name,)| name))
    }

    /// Records a use; written at most once a minute per token, so reads stay reads.
    pub async fn touch_api_token(&self, id: &str, ip: &str) -> Result<(), StoreError> {
        let now = now_ms();
        on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3 WHERE id = $1 \
                 AND (last_used_at IS NULL OR last_used_at < $4 OR last_used_ip <> $3)",
            )
            .bind(id)
            .bind(now)
            .bind(ip)
            .bind(now - 60_000)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Holds `key` for this request, or says what it already stands for. The row is written
    /// first, so of two requests racing with one key exactly one is `Reserved`. `None` when
    /// the key was freed between the write and the read: the caller tries again.
    pub async fn reserve_token_key(
        &self,
        token_id: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<KeyState>, StoreError> {
        let now = now_ms();
        let inserted = on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO token_replies (token_id, idem_key, request_hash, status_code, body, \
                 created_at) VALUES ($1, $2, $3, 0, '', $4) \
                 ON CONFLICT (token_id, idem_key) DO UPDATE SET request_hash = $3, \
                 status_code = 0, body = '', created_at = $4 \
                 WHERE token_replies.created_at <= $5 \
                 OR (token_replies.status_code = 0 AND token_replies.created_at <= $6)",
            )
            .bind(token_id)
            .bind(key)
            .bind(request_hash)
            .bind(now)
            .bind(now - TOKEN_REPLY_WINDOW_MS)
            .bind(now - RUNNING_KEY_ABANDONED_MS)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        if inserted > 0 {
            return Ok(Some(KeyState::Reserved));
        }
        let row: Option<(String, i64, String)> = on_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT request_hash, status_code, body FROM token_replies \
                 WHERE token_id = $1 AND idem_key = $2",
            )
            .bind(token_id)
            .bind(key)
            .fetch_optional(pool)
            .await
        })?;
        Ok(
            row.map(|(request_hash, status_code, body)| match status_code {
                0 => KeyState::Running { request_hash },
                _ => KeyState::Done {
                    request_hash,
                    status_code,
                    body,
                },
            }),
        )
    }

    /// Keeps the reply a reserved key's request gave.
    pub async fn complete_token_key(
        &self,
        token_id: &str,
        key: &str,
        status_code: i64,
        body: &str,
    ) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE token_replies SET status_code = $3, body = $4 \
                 WHERE token_id = $1 AND idem_key = $2",
            )
            .bind(token_id)
            .bind(key)
            .bind(status_code)
            .bind(body)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Frees a reserved key whose request changed nothing (it failed), so a retry runs.
    pub async fn release_token_key(&self, token_id: &str, key: &str) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query(
                "DELETE FROM token_replies WHERE token_id = $1 AND idem_key = $2 \
                 AND status_code = 0",
            )
            .bind(token_id)
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Forgets replies older than the window.
    pub async fn prune_token_replies(&self) -> Result<u64, StoreError> {
        let deleted = on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM token_replies WHERE created_at <= $1")
                .bind(now_ms() - TOKEN_REPLY_WINDOW_MS)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted)
    }
}
