//! The audit log: appended to, read newest first with filters, and pruned by age.

use crate::model::ids::OrgId;

use super::{new_id, on_db, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub ip: String,
    pub details: Option<String>,
}

/// One entry to append.
pub struct NewAuditEntry<'a> {
    pub org_id: &'a OrgId,
    pub at: i64,
    pub actor_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: &'a str,
    pub ip: &'a str,
    pub details: Option<&'a str>,
}

/// Which entries to read; empty text matches everything. `actor` and `action` match a
/// prefix, so "endpoint." finds every endpoint action.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Only entries listed after this one (its time, its ID).
    pub after: Option<(i64, String)>,
}

impl Store {
    pub async fn insert_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        let id = new_id("aud");
        on_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO audit_log (id, org_id, at, actor_id, actor, action, object_kind, \
                 object_id, ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&id)
            .bind(entry.org_id)
            .bind(entry.at)
            .bind(entry.actor_id)
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.object_kind)
            .bind(entry.object_id)
            .bind(entry.ip)
            .bind(entry.details)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Up to `limit` entries, newest first, skipping `offset`.
    pub async fn audit_entries(
        &self,
        org_id: &OrgId,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // Prefix matches compare with substr rather than LIKE, so `%` and `_` typed into a
        // filter are taken literally on both backends.
        let sql = "SELECT id, at, actor, action, object_kind, object_id, ip, details \
                   FROM audit_log WHERE org_id = $1 \
                   AND substr(actor, 1, length($2)) = $2 \
                   AND substr(action, 1, length($3)) = $3 \
                   AND at >= $4 AND at < $5 \
                   AND (CAST($8 AS BIGINT) IS NULL OR at < $8 OR (at = $8 AND id < $9)) \
                   ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7";
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, AuditRecord>(sql)
                .bind(org_id)
                .bind(&filter.actor)
                .bind(&filter.action)
                .bind(filter.from_ms.unwrap_or(i64::MIN))
                .bind(filter.to_ms.unwrap_or(i64::MAX))
                .bind(limit)
                .bind(offset)
                .bind(filter.after.as_ref().map(|(at, _)| *at))
                .bind(filter.after.as_ref().map(|(_, id)| id.as_str()))
                .fetch_all(pool)
                .await
        })?)
    }

    /// How many entries of either action `actor_id` made since `since_ms`, in any organization.
    pub async fn audit_count_by_actor(
        &self,
        actor_id: &str,
        actions: [&str; 2],
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE at >= $1 AND actor_id = $2 \
                 AND action IN ($3, $4)",
            )
            .bind(since_ms)
            .bind(actor_id)
            .bind(actions[0])
            .bind(actions[1])
            .fetch_one(pool)
            .await
        })?)
    }

    /// How many entries of either action the organization's API tokens (`tok_…` actors)
    /// made since `since_ms`.
    pub async fn audit_count_by_tokens(
        &self,
        org_id: &OrgId,
        actions: [&str; 2],
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE at >= $1 AND org_id = $2 \
                 AND substr(actor_id, 1, 4) = 'tok_' AND action IN ($3, $4)",
            )
            .bind(since_ms)
            .bind(org_id)
            .bind(actions[0])
            .bind(actions[1])
            .fetch_one(pool)
            .await
        })?)
    }

    /// Deletes entries older than `before_ms`; returns how many.
    pub async fn prune_audit(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM audit_log WHERE at < $1")
                .bind(before_ms)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}
