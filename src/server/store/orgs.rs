//! The organizations aggregate: organizations and their memberships. Changes that could take
//! away an organization's last owner first lock the organization's row (an UPDATE, which
//! also takes SQLite's write lock at once), then count owners inside the same transaction.

use crate::model::ids::{AccountId, AppId, OrgId};

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

/// An organization seen through one member's membership.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRecord {
    pub org_id: OrgId,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRecord {
    pub account_id: AccountId,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

/// A change to one membership (`change_membership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange<'a> {
    SetRole(&'a str),
    /// The target leaves, or is removed.
    Remove,
    /// The target becomes an owner and the actor an admin.
    TransferOwnership,
}

/// The roles a membership change is judged on, read inside its transaction.
#[derive(Debug, Clone)]
pub struct RolesNow {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub owners: i64,
}

/// An organization for the operator's overview.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgOverview {
    pub id: OrgId,
    pub name: String,
    pub created_at: i64,
    pub members: String,
    pub apps: String,
}

/// The personal organization made with an account: its id mirrors the account's, as the
/// migration that introduced organizations made them.
pub(super) fn personal_org_id(account_id: &AccountId) -> OrgId {
    let account = account_id.as_str();
    OrgId::from(format!(
        "org_{}",
        account.strip_prefix("acc_").unwrap_or(account)
    ))
}

const LOCK_ORG: &str = "UPDATE organizations SET name = name WHERE id = $1";
const OWNERS: &str = "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'";
const MEMBERSHIP_COLUMNS: &str = "m.org_id, o.name, m.role";

impl Store {
    /// The organizations `account_id` belongs to, the oldest membership first (its personal
    /// organization, unless it left it).
    pub async fn memberships(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<MembershipRecord>, StoreError> {
        let sql = format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.account_id = $1 ORDER BY m.created_at, m.org_id"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, MembershipRecord>(&sql)
                .bind(account_id)
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn membership(
        &self,
        account_id: &AccountId,
        org_id: &OrgId,
    ) -> Result<Option<MembershipRecord>, StoreError> {
        let sql = format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.account_id = $1 AND m.org_id = $2"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, MembershipRecord>(&sql)
                .bind(account_id)
                .bind(org_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The account's membership in the organization that owns application `app_id`.
    pub async fn membership_for_app(
        &self,
        account_id: &AccountId,
        app_id: &AppId,
    ) -> Result<Option<MembershipRecord>, StoreError> {
        let sql = format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM applications a \
             JOIN memberships m ON m.org_id = a.org_id AND m.account_id = $1 \
             JOIN organizations o ON o.id = m.org_id WHERE a.id = $2"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, MembershipRecord>(&sql)
                .bind(account_id)
                .bind(app_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Creates an organization with `owner_id` as its only owner; returns its id.
    pub async fn insert_org(&self, name: &str, owner_id: &AccountId) -> Result<OrgId, StoreError> {
        let id = OrgId::from(new_id(OrgId::PREFIX));
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            insert_org_with_owner(&mut tx, &id, name, owner_id).await?;
            tx.commit().await
        })?;
        Ok(id)
    }

    pub async fn rename_org(&self, org_id: &OrgId, name: &str) -> Result<bool, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query("UPDATE organizations SET name = $2 WHERE id = $1")
                .bind(org_id)
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })? > 0)
    }

    /// Deletes an organization with its applications, endpoints, deliveries and audit log.
    pub async fn delete_org(&self, org_id: &OrgId) -> Result<bool, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(org_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })? > 0)
    }

    pub async fn members(&self, org_id: &OrgId) -> Result<Vec<MemberRecord>, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, MemberRecord>(
                "SELECT m.account_id, a.email, m.role, m.created_at FROM memberships m \
                 JOIN accounts a ON a.id = m.account_id WHERE m.org_id = $1 \
                 ORDER BY m.created_at, a.email",
            )
            .bind(org_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Changes one membership. The organization is locked first, then the roles as they are
    /// now are read and handed to `decide`, so every rule (who may, the last owner) is judged
    /// on the state the change is made to, however many changes race. Invitations the target
    /// made are revoked when it leaves or stops being an owner or admin.
    /// `actor_id` is a member's account ID or an organization API token's ID.
    pub async fn change_membership<E>(
        &self,
        org_id: &OrgId,
        actor_id: &str,
        target_id: &AccountId,
        change: MemberChange<'_>,
        decide: impl FnOnce(&RolesNow) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let now = now_ms();
        Ok(on_db!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(LOCK_ORG).bind(org_id).execute(&mut *tx).await?;
            // An actor is a member, or an organization API token acting with its own role.
            let role_of = format!(
                "SELECT role FROM memberships WHERE org_id = $1 AND account_id = $2 \
                 UNION ALL SELECT t.role FROM api_tokens t WHERE t.org_id = $1 AND t.id = $2 \
                 AND {}",
                super::api_tokens::live("$3")
            );
            let actor: Option<String> = sqlx::query_scalar(&role_of)
                .bind(org_id)
                .bind(actor_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let target: Option<String> = sqlx::query_scalar(&role_of)
                .bind(org_id)
                .bind(target_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let owners: i64 = sqlx::query_scalar(OWNERS)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
            let roles = RolesNow {
                actor,
                target,
                owners,
            };
            if let Err(refusal) = decide(&roles) {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
            let set_role = "UPDATE memberships SET role = $3 WHERE org_id = $1 AND account_id = $2";
            let keeps_inviting = match change {
                MemberChange::SetRole(role) => {
                    sqlx::query(set_role)
                        .bind(org_id)
                        .bind(target_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                    matches!(role, "owner" | "admin")
                }
                MemberChange::Remove => {
                    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND account_id = $2")
                        .bind(org_id)
                        .bind(target_id)
                        .execute(&mut *tx)
                        .await?;
                    false
                }
                MemberChange::TransferOwnership => {
                    for (account, role) in [(target_id.as_str(), "owner"), (actor_id, "admin")] {
                        sqlx::query(set_role)
                            .bind(org_id)
                            .bind(account)
                            .bind(role)
                            .execute(&mut *tx)
                            .await?;
                    }
                    true
                }
            };
            if !keeps_inviting {
                sqlx::query(
                    "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND invited_by = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(org_id)
                .bind(target_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            // The tokens the target may no longer make are revoked for good, so promoting or
            // inviting it again does not wake them (all of them once it is no owner or admin;
            // its owner tokens once it is no owner).
            let target_role_now = match change {
                MemberChange::SetRole(role) => Some(role),
                MemberChange::Remove => None,
                MemberChange::TransferOwnership => Some("owner"),
            };
            let revoke_roles: &[&str] = match target_role_now {
                Some("owner") => &[],
                Some("admin") => &["owner"],
                _ => &["owner", "admin", "developer", "viewer"],
            };
            for role in revoke_roles {
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND created_by = $2 \
                     AND role = $4 AND revoked_at IS NULL",
                )
                .bind(org_id)
                .bind(target_id)
                .bind(now)
                .bind(*role)
                .execute(&mut *tx)
                .await?;
            }
            if matches!(change, MemberChange::TransferOwnership) {
                // The former owner is an admin now: its owner tokens go.
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND created_by = $2 \
                     AND role = 'owner' AND revoked_at IS NULL",
                )
                .bind(org_id)
                .bind(actor_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(()))
        }
        .await)?)
    }

    /// Every organization with its members and applications, for the operator.
    pub async fn org_overview(&self) -> Result<Vec<OrgOverview>, StoreError> {
        // Grouped lists as text keep this one query on both backends.
        let (members, apps) = match self.db() {
            super::Db::Sqlite(_) => (
                "group_concat(a.email || ' (' || m.role || ')', ', ')",
                "group_concat(p.name || ' (' || p.id || ')', ', ')",
            ),
            super::Db::Postgres(_) => (
                "string_agg(a.email || ' (' || m.role || ')', ', ' ORDER BY m.created_at)",
                "string_agg(p.name || ' (' || p.id || ')', ', ' ORDER BY p.created_at)",
            ),
        };
        let sql = format!(
            "SELECT o.id, o.name, o.created_at, \
             COALESCE((SELECT {members} FROM memberships m JOIN accounts a ON a.id = m.account_id \
                       WHERE m.org_id = o.id), '') AS members, \
             COALESCE((SELECT {apps} FROM applications p WHERE p.org_id = o.id), '') AS apps \
             FROM organizations o ORDER BY o.created_at, o.id LIMIT 1000"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, OrgOverview>(&sql).fetch_all(pool).await
        })?)
    }
}

/// Inserts an organization and its owner's membership inside `tx`.
pub(super) async fn insert_org_with_owner<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    org_id: &OrgId,
    name: &str,
    owner_id: &AccountId,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let now = now_ms();
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(org_id.as_str())
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (org_id, account_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
    )
    .bind(org_id.as_str())
    .bind(owner_id.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
