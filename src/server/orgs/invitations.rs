//! Invitations: made by owners and admins, mailed (or shown to copy when the server cannot
//! send mail), valid for 7 days and used once, by a new or an existing account.

use super::{stored_role, Actor, Member, Orgs};
use crate::model::org::{Action, AuditAction, InvitationPreview, InvitationView, Role};
use crate::model::{AppError, EmailAddress};
use crate::server::clock::now_ms;
use crate::server::secrets::{hash_api_key, new_invitation_token};
use crate::server::store::{InvitationRecord, NewInvitation};
use serde_json::json;

pub const INVITATION_VALIDITY_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Invitations (sent or resent) one account may mail per hour: enough for a team, too few to
/// make the server a mail cannon.
pub const INVITATIONS_PER_HOUR: i64 = 30;

/// A sent invitation; `link` is set when the inviter must pass it on (no mail).
#[derive(Debug, Clone)]
pub struct SentInvitation {
    pub email: String,
    pub link: Option<String>,
}

impl Orgs {
    pub async fn invitations(&self, member: &Member) -> Result<Vec<InvitationView>, AppError> {
        member.require(Action::ViewApps)?;
        self.store
            .pending_invitations(&member.org_id)
            .await?
            .into_iter()
            .map(invitation_view)
            .collect()
    }

    pub async fn invite(
        &self,
        member: &Member,
        email: &str,
        role: &str,
    ) -> Result<SentInvitation, AppError> {
        member.require(Action::ManageMembers)?;
        let role = Role::parse(role)?;
        if role == Role::Owner {
            member.require(Action::ManageOwners)?;
        }
        let email = EmailAddress::parse(email)?;
        let already = self
            .store
            .members(&member.org_id)
            .await?
            .into_iter()
            .any(|m| m.email == email.as_str());
        if already {
            return Err(AppError::Conflict {
                field: "email".to_owned(),
                message: format!(
                    "{} is already a member of this organization.",
                    email.as_str()
                ),
            });
        }
        self.within_invitation_limit(member).await?;
        let token = new_invitation_token();
        let id = self
            .store
            .insert_invitation(NewInvitation {
                org_id: &member.org_id,
                email: email.as_str(),
                role: role.as_str(),
                token_hash: &hash_api_key(&token),
                invited_by: member.actor.person(),
                expires_at: now_ms() + INVITATION_VALIDITY_MS,
            })
            .await?;
        let sent = self.send(member, email.as_str(), role, &token).await?;
        let details = json!({"email": email.as_str(), "role": role.as_str()});
        self.audit
            .record(
                member,
                AuditAction::MemberInvite,
                ("invitation", &id),
                Some(details),
            )
            .await?;
        Ok(sent)
    }

    /// Sends a pending invitation again with a new link (the old one stops working) and
    /// another 7 days.
    pub async fn resend(
        &self,
        member: &Member,
        invitation_id: &str,
    ) -> Result<SentInvitation, AppError> {
        let pending = self.pending(member, invitation_id).await?;
        self.within_invitation_limit(member).await?;
        let token = new_invitation_token();
        let renewed = self
            .store
            .renew_invitation(
                &member.org_id,
                &pending.id,
                &hash_api_key(&token),
                now_ms() + INVITATION_VALIDITY_MS,
            )
            .await?
            .ok_or(AppError::NotFound)?;
        let sent = self
            .send(member, &renewed.email, pending.role, &token)
            .await?;
        let details = json!({"email": renewed.email});
        self.audit
            .record(
                member,
                AuditAction::InvitationResend,
                ("invitation", &renewed.id),
                Some(details),
            )
            .await?;
        Ok(sent)
    }

    pub async fn revoke(&self, member: &Member, invitation_id: &str) -> Result<(), AppError> {
        let pending = self.pending(member, invitation_id).await?;
        let email = self
            .store
            .revoke_invitation(&member.org_id, &pending.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let details = json!({"email": email});
        self.audit
            .record(
                member,
                AuditAction::InvitationRevoke,
                ("invitation", &pending.id),
                Some(details),
            )
            .await
    }

    /// A pending invitation of the member's organization that its role may manage: an
    /// invitation to become an owner is for owners to resend or revoke.
    async fn pending(
        &self,
        member: &Member,
        invitation_id: &str,
    ) -> Result<InvitationView, AppError> {
        member.require(Action::ManageMembers)?;
        let pending = self
            .store
            .pending_invitation(&member.org_id, invitation_id.trim())
            .await?
            .ok_or(AppError::NotFound)
            .and_then(invitation_view)?;
        if pending.role == Role::Owner {
            member.require(Action::ManageOwners)?;
        }
        Ok(pending)
    }

    /// What a pending invitation link offers; `NotFound` once used, revoked or expired.
    pub async fn preview(&self, token: &str) -> Result<InvitationPreview, AppError> {
        let record = self
            .store
            .invitation_by_token(&hash_api_key(token.trim()))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(InvitationPreview {
            role: stored_role(&record.role)?,
            org_name: record.org_name,
            email: record.email,
            invited_by: if record.invited_by.is_empty() {
                "an API token".to_owned()
            } else {
                record.invited_by
            },
            expires_at_ms: record.expires_at,
        })
    }

    /// Joins the invitation's organization; returns the new membership. A member already
    /// keeps the role it has.
    pub async fn accept(&self, actor: Actor, token: &str) -> Result<Member, AppError> {
        let (org_id, role, invitation_id) = self
            .store
            .accept_invitation(&hash_api_key(token.trim()), actor.account_id()?)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "token",
                    "This invitation is no longer valid: it was used, revoked or it expired. Ask for a new one.",
                )
            })?;
        let member = self.member(actor, &org_id).await?;
        let details = json!({"role": role});
        self.audit
            .record(
                &member,
                AuditAction::InvitationAccept,
                ("invitation", &invitation_id),
                Some(details),
            )
            .await?;
        Ok(member)
    }

    async fn within_invitation_limit(&self, member: &Member) -> Result<(), AppError> {
        let actions = [AuditAction::MemberInvite, AuditAction::InvitationResend];
        // An account counts its own; the organization's API tokens share one count, so
        // making more tokens buys no more mail.
        let sent = if member.actor.person().is_some() {
            self.audit.recent(&member.actor, actions, 3_600_000).await?
        } else {
            self.audit
                .recent_by_tokens(&member.org_id, actions, 3_600_000)
                .await?
        };
        if sent >= INVITATIONS_PER_HOUR {
            return Err(AppError::Limited {
                field: "email".to_owned(),
                message: format!("{INVITATIONS_PER_HOUR} invitations were sent in the last hour, the most allowed; try again later."),
                retry_after_secs: 600,
            });
        }
        Ok(())
    }

    async fn send(
        &self,
        member: &Member,
        email: &str,
        role: Role,
        token: &str,
    ) -> Result<SentInvitation, AppError> {
        let path = format!("/invite/{token}");
        if self.mail.enabled() {
            self.mail
                .invitation(
                    email,
                    &member.org_name,
                    &member.actor.label,
                    role.label(),
                    &path,
                )
                .await?;
            Ok(SentInvitation {
                email: email.to_owned(),
                link: None,
            })
        } else {
            Ok(SentInvitation {
                email: email.to_owned(),
                link: Some(format!("{}{path}", self.console_url)),
            })
        }
    }
}

fn invitation_view(record: InvitationRecord) -> Result<InvitationView, AppError> {
    Ok(InvitationView {
        role: stored_role(&record.role)?,
        id: record.id,
        email: record.email,
        invited_by: if record.invited_by.is_empty() {
            "an API token".to_owned()
        } else {
            record.invited_by
        },
        created_at_ms: record.created_at,
        expires_at_ms: record.expires_at,
    })
}
