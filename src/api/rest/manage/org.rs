//! The token's organization: members, invitations, the audit log.

use super::views::SentInvitation;
use super::views::{AuditList, AuditLogEntry, Invitation, InvitationList, Member, MemberList};
use super::{json, once, Listing, Params, TokenMember};
use crate::api::rest::{ApiError, ApiRequest};
use crate::model::AppError;
use crate::server::orgs::AuditQuery;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    #[schema(max_length = 254)]
    email: String,
    /// `owner` (by owners only), `admin`, `developer` or `viewer`.
    role: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `owner`, `admin`, `developer` or `viewer`.
    role: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListing {
    /// Entries whose actor starts so.
    #[param(max_length = 200)]
    actor: Option<String>,
    /// Entries whose action starts so, e.g. `endpoint.`.
    #[param(max_length = 200)]
    action: Option<String>,
    /// UTC: entries at or after.
    from: Option<String>,
    /// UTC: entries before.
    to: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    #[param(max_length = 64)]
    after: Option<String>,
}

/// List members
#[utoipa::path(get, path = "/api/v1/members", tag = "Organization", params(Listing),
    responses((status = 200, body = MemberList)), security(("org_token" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Params(listing): Params<Listing>,
) -> Result<Json<MemberList>, ApiError> {
    let members = state.orgs.members(&member).await?;
    let page = listing.page(members.into_iter().map(Member::from).collect(), |m| {
        &m.account_id
    })?;
    Ok(Json(MemberList {
        data: page.data,
        next: page.next,
    }))
}

/// Change a member's role
#[utoipa::path(patch, path = "/api/v1/members/{accountId}", tag = "Organization",
    params(("accountId" = String, Path)), request_body = RoleBody,
    responses((status = 200, body = Member)), security(("org_token" = [])))]
pub async fn change_member_role(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Path(account_id): Path<String>,
    request: ApiRequest,
) -> Result<Json<Member>, ApiError> {
    let body: RoleBody = request.json()?;
    state
        .orgs
        .change_role(&member, &account_id, &body.role)
        .await?;
    let changed = state
        .orgs
        .members(&member)
        .await?
        .into_iter()
        .find(|m| m.account_id == account_id.trim())
        .ok_or(AppError::NotFound)?;
    Ok(Json(changed.into()))
}

/// Remove a member
#[utoipa::path(delete, path = "/api/v1/members/{accountId}", tag = "Organization",
    params(("accountId" = String, Path)),
    responses((status = 204, description = "Removed")), security(("org_token" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Path(account_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.orgs.remove(&member, &account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List pending invitations
#[utoipa::path(get, path = "/api/v1/invitations", tag = "Organization", params(Listing),
    responses((status = 200, body = InvitationList)), security(("org_token" = [])))]
pub async fn list_invitations(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Params(listing): Params<Listing>,
) -> Result<Json<InvitationList>, ApiError> {
    let invitations = state.orgs.invitations(&member).await?;
    let page = listing.page(
        invitations.into_iter().map(Invitation::from).collect(),
        |i| &i.id,
    )?;
    Ok(Json(InvitationList {
        data: page.data,
        next: page.next,
    }))
}

/// Invite someone
///
/// Mailed when this server sends mail; otherwise the reply's `link` is to pass on.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "Organization",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = InvitationBody,
    responses((status = 201, body = SentInvitation)), security(("org_token" = [])))]
pub async fn invite_member(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    request: ApiRequest,
) -> Response {
    once(&state, &member, &request, async {
        let body: InvitationBody = request.json()?;
        let sent = state.orgs.invite(&member, &body.email, &body.role).await?;
        // One pending invitation per address: the one just made.
        let invitation = state
            .orgs
            .invitations(&member)
            .await?
            .into_iter()
            .find(|i| i.email == sent.email)
            .ok_or(AppError::NotFound)?;
        json(
            StatusCode::CREATED,
            SentInvitation {
                invitation: invitation.into(),
                link: sent.link,
            },
        )
    })
    .await
}

/// Revoke an invitation
#[utoipa::path(delete, path = "/api/v1/invitations/{invitationId}", tag = "Organization",
    params(("invitationId" = String, Path)),
    responses((status = 204, description = "Revoked")), security(("org_token" = [])))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Path(invitation_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.orgs.revoke(&member, &invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read the audit log
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "Organization", params(AuditListing),
    responses((status = 200, body = AuditList)), security(("org_token" = [])))]
pub async fn list_audit_log(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Params(listing): Params<AuditListing>,
) -> Result<Json<AuditList>, ApiError> {
    let cursor = Listing {
        limit: listing.limit,
        after: listing.after,
    };
    let query = AuditQuery {
        actor: listing.actor,
        action: listing.action,
        from: listing.from,
        to: listing.to,
    };
    let (entries, more) = state
        .orgs
        .audit()
        .entries_after(&member, &query, cursor.after(), cursor.limit()?)
        .await?;
    let next = more.then(|| entries.last().map(|e| e.id.clone())).flatten();
    Ok(Json(AuditList {
        data: entries.into_iter().map(AuditLogEntry::from).collect(),
        next,
    }))
}
