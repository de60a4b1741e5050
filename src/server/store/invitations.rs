//! Invitations to an organization: pending until accepted once, revoked, or expired.
//! Only a token's SHA-256 is stored; a resend draws a new token, so older links die.

use crate::model::ids::{AccountId, OrgId};

use super::{new_id, on_db, Store, StoreError};
use crate::server::clock::now_ms;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRecord {
    pub id: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const PENDING: &str = "i.accepted_at IS NULL AND i.revoked_at IS NULL";
const COLUMNS: &str = "i.id, i.org_id, o.name AS org_name, i.email, i.role, \
     COALESCE(a.email, '') AS invited_by, i.created_at, i.expires_at";
const FROM: &str = "FROM invitations i JOIN organizations o ON o.id = i.org_id \
     LEFT JOIN accounts a ON a.id = i.invited_by";

/// The stored parts of a new invitation.
pub struct NewInvitation<'a> {
    pub org_id: &'a OrgId,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    /// `None` when an API token invites.
    pub invited_by: Option<&'a AccountId>,
    pub expires_at: i64,
}

impl Store {
    /// Stores an invitation; an earlier pending one to the same address is revoked, so one
    /// address has one live link per organization.
    pub async fn insert_invitation(
        &self,
        invitation: NewInvitation<'_>,
    ) -> Result<String, StoreError> {
        let id = new_id("inv");
        let now = now_ms();
        on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND email = $2 \
                 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(invitation.org_id)
            .bind(invitation.email)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(invitation.org_id)
            .bind(invitation.email)
            .bind(invitation.role)
            .bind(invitation.token_hash)
            .bind(invitation.invited_by)
            .bind(now)
            .bind(invitation.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(id)
    }

    /// The organization's pending invitations (expired ones included, marked by their time).
    pub async fn pending_invitations(
        &self,
        org_id: &OrgId,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE i.org_id = $1 AND {PENDING} ORDER BY i.created_at DESC LIMIT 500"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, InvitationRecord>(&sql)
                .bind(org_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// One pending invitation (expired or not) of the organization.
    pub async fn pending_invitation(
        &self,
        org_id: &OrgId,
        id: &str,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} {FROM} WHERE i.org_id = $1 AND i.id = $2 AND {PENDING}");
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, InvitationRecord>(&sql)
                .bind(org_id)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A pending, unexpired invitation by its token's hash.
    pub async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE i.token_hash = $1 AND {PENDING} AND i.expires_at > $2"
        );
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_as::<_, InvitationRecord>(&sql)
                .bind(token_hash)
                .bind(now_ms())
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Gives a pending invitation a new token and expiry; `None` when it is not pending.
    pub async fn renew_invitation(
        &self,
        org_id: &OrgId,
        id: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        let updated = on_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE invitations SET token_hash = $3, expires_at = $4 WHERE org_id = $1 \
                 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(org_id)
            .bind(id)
            .bind(token_hash)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if updated == 0 {
            return Ok(None);
        }
        self.invitation_by_token(token_hash).await
    }

    /// Revokes a pending invitation; returns its address when there was one.
    pub async fn revoke_invitation(
        &self,
        org_id: &OrgId,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_db!(self.db(), |pool| {
            sqlx::query_scalar::<_, String>(
                "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND id = $2 \
                 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email",
            )
            .bind(org_id)
            .bind(id)
            .bind(now_ms())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Spends the invitation and makes `account_id` a member with its role (a member already
    /// keeps the role it has); the invitation's organization id, role and id when it was
    /// pending and unexpired.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        account_id: &AccountId,
    ) -> Result<Option<(OrgId, String, String)>, StoreError> {
        let now = now_ms();
        Ok(on_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let spent: Option<(OrgId, String, String)> = sqlx::query_as(
                "UPDATE invitations SET accepted_at = $2, accepted_by = $3 WHERE token_hash = $1 \
                 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                 RETURNING org_id, role, id",
            )
            .bind(token_hash)
            .bind(now)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((org_id, role, _)) = &spent {
                sqlx::query(
                    "INSERT INTO memberships (org_id, account_id, role, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, account_id) DO NOTHING",
                )
                .bind(org_id)
                .bind(account_id)
                .bind(role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(spent)
        })?)
    }
}
