//! The audit log's rules: what an entry holds (never a secret), who may read it, how long
//! it is kept.

use crate::model::ids::OrgId;

use super::{Actor, Member};
use crate::model::org::{Action, AuditAction, AuditEntry, AuditPage};
use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::error::internal;
use crate::server::store::{AuditFilter, AuditRecord, NewAuditEntry, Store};

const PAGE_SIZE: i64 = 50;
/// An export holds at most this many entries (newest first); narrow the time to get older.
pub const MAX_EXPORT_ENTRIES: i64 = 10_000;
const MAX_FILTER_CHARS: usize = 200;

#[derive(Clone)]
pub struct Audit {
    store: Store,
}

/// The log's filter as typed: actor and action prefixes, and a UTC time range.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl AuditQuery {
    fn parse(&self) -> Result<AuditFilter, AppError> {
        let text = |field: &str, raw: &Option<String>| -> Result<String, AppError> {
            let value = raw.as_deref().unwrap_or("").trim().to_owned();
            if value.chars().count() > MAX_FILTER_CHARS || value.contains('\0') {
                return Err(AppError::invalid(
                    field,
                    format!("At most {MAX_FILTER_CHARS} characters, without NUL."),
                ));
            }
            Ok(value)
        };
        let time = |field: &str, raw: &Option<String>| -> Result<Option<i64>, AppError> {
            match raw.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => crate::model::time::parse_utc_minute(t)
                    .map(Some)
                    .map_err(|reason| AppError::invalid(field, reason)),
            }
        };
        Ok(AuditFilter {
            actor: text("actor", &self.actor)?.to_lowercase(),
            action: text("action", &self.action)?,
            from_ms: time("from", &self.from)?,
            to_ms: time("to", &self.to)?,
            after: None,
        })
    }
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Audit { store }
    }

    /// Appends an entry for what `member` did to `object` (kind, id). `details` holds
    /// before/after values; callers never put a secret in it.
    pub async fn record(
        &self,
        member: &Member,
        action: AuditAction,
        object: (&str, &str),
        details: Option<serde_json::Value>,
    ) -> Result<(), AppError> {
        self.record_in(&member.org_id, &member.actor, action, object, details)
            .await
    }

    /// As `record`, for an actor acting outside a membership (the operator, a sign-in). A
    /// failure to write is logged, never returned (see below).
    pub async fn record_in(
        &self,
        org_id: &OrgId,
        actor: &Actor,
        action: AuditAction,
        (object_kind, object_id): (&str, &str),
        details: Option<serde_json::Value>,
    ) -> Result<(), AppError> {
        let details = details.map(|d| d.to_string());
        let written = self
            .store
            .insert_audit(NewAuditEntry {
                org_id,
                at: now_ms(),
                actor_id: actor.id.recorded(),
                actor: &actor.label,
                action: action.as_str(),
                object_kind,
                object_id,
                ip: &actor.ip,
                details: details.as_deref(),
            })
            .await;
        // The action has happened by now: failing its answer would invite a retry that does
        // it twice. The lost entry is logged with a reference instead.
        if let Err(err) = written {
            let _ = internal(format!(
                "audit entry {} not written: {err}",
                action.as_str()
            ));
        }
        Ok(())
    }

    /// How many of `actions` `actor` did in the last `window_ms`, in any organization: the
    /// log doubles as the count behind limits on mail-sending actions.
    pub async fn recent(
        &self,
        actor: &Actor,
        actions: [AuditAction; 2],
        window_ms: i64,
    ) -> Result<i64, AppError> {
        Ok(self
            .store
            .audit_count_by_actor(
                actor.id.recorded().unwrap_or_default(),
                actions.map(AuditAction::as_str),
                now_ms() - window_ms,
            )
            .await?)
    }

    /// How many entries of either action the organization's API tokens made in the window.
    pub async fn recent_by_tokens(
        &self,
        org_id: &OrgId,
        actions: [AuditAction; 2],
        window_ms: i64,
    ) -> Result<i64, AppError> {
        Ok(self
            .store
            .audit_count_by_tokens(
                org_id,
                actions.map(AuditAction::as_str),
                now_ms() - window_ms,
            )
            .await?)
    }

    pub async fn page(
        &self,
        member: &Member,
        query: &AuditQuery,
        page: u32,
    ) -> Result<AuditPage, AppError> {
        member.require(Action::ViewAudit)?;
        let filter = query.parse()?;
        let offset = i64::from(page) * PAGE_SIZE;
        let mut records = self
            .store
            .audit_entries(&member.org_id, &filter, PAGE_SIZE + 1, offset)
            .await?;
        let has_more = records.len() as i64 > PAGE_SIZE;
        records.truncate(PAGE_SIZE as usize);
        Ok(AuditPage {
            entries: records.into_iter().map(entry).collect(),
            page,
            has_more,
        })
    }

    /// Up to `limit` entries listed after the position `after` (a time and an entry ID;
    /// from the newest when `None`), and the position after the last one when more follow.
    /// Times may come as milliseconds rather than in `query`.
    pub async fn entries_after(
        &self,
        member: &Member,
        query: &AuditQuery,
        (from_ms, to_ms): (Option<i64>, Option<i64>),
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<(Vec<AuditEntry>, Option<(i64, String)>), AppError> {
        member.require(Action::ViewAudit)?;
        let mut filter = query.parse()?;
        filter.from_ms = filter.from_ms.or(from_ms);
        filter.to_ms = filter.to_ms.or(to_ms);
        filter.after = after;
        let mut records = self
            .store
            .audit_entries(&member.org_id, &filter, i64::from(limit) + 1, 0)
            .await?;
        let more = records.len() > limit as usize;
        records.truncate(limit as usize);
        let entries: Vec<AuditEntry> = records.into_iter().map(entry).collect();
        let next = more
            .then(|| entries.last().map(|e| (e.at_ms, e.id.clone())))
            .flatten();
        Ok((entries, next))
    }

    /// The newest `MAX_EXPORT_ENTRIES` entries that match, for CSV or JSON export.
    pub async fn export(
        &self,
        member: &Member,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, AppError> {
        member.require(Action::ViewAudit)?;
        let filter = query.parse()?;
        Ok(self
            .store
            .audit_entries(&member.org_id, &filter, MAX_EXPORT_ENTRIES, 0)
            .await?
            .into_iter()
            .map(entry)
            .collect())
    }

    /// Deletes entries older than `retention_days`.
    pub async fn prune(&self, retention_days: u32) -> Result<u64, AppError> {
        let before = now_ms() - i64::from(retention_days) * 86_400_000;
        Ok(self.store.prune_audit(before).await?)
    }
}

fn entry(record: AuditRecord) -> AuditEntry {
    AuditEntry {
        id: record.id,
        at_ms: record.at,
        actor: record.actor,
        action: record.action,
        object_kind: record.object_kind,
        object_id: record.object_id,
        ip: record.ip,
        details: record.details,
    }
}
