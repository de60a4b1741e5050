//! The token's organization: members, invitations, the audit log.

use super::views::SentInvitation;
use super::views::{AuditList, AuditLogEntry, Invitation, InvitationList, Member, MemberList};
use super::{json, once, Ids, Listing, Params, Reply, TokenMember, Window};
use crate::api::rest::{ApiError, ApiRequest};
use crate::model::ids::AccountId;
use crate::model::AppError;
use crate::server::orgs::AuditQuery;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    /// The address to invite, as `name@example.com`.
    #[schema(max_length = 254)]
    email: String,
    /// `owner` (by owners only), `admin`, `developer` or `viewer`.
    #[schema(pattern = "^(owner|admin|developer|viewer)$")]
    role: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `owner`, `admin`, `developer` or `viewer`.
    #[schema(pattern = "^(owner|admin|developer|viewer)$")]
    role: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListing {
    /// Entries whose actor starts so.
    #[param(pattern = "^[^\\u0000]{0,100}$")]
    actor: Option<String>,
    /// Entries whose action starts so, e.g. `endpoint.`.
    #[param(pattern = "^[^\\u0000]{0,100}$")]
    action: Option<String>,
    /// Entries at or after this time, in Unix seconds.
    #[param(minimum = 0, maximum = 253402300799_i64)]
    from: Option<i64>,
    /// Entries before this time, in Unix seconds.
    #[param(minimum = 0, maximum = 253402300799_i64)]
    to: Option<i64>,
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,64}$")]
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
        m.account_id.as_str()
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
    Ids(account_id): Ids<AccountId>,
    request: ApiRequest,
) -> Result<Json<Member>, ApiError> {
    let body: RoleBody = request.json()?;
    let role = super::one_of("role", &body.role, &super::role_names())?;
    state.orgs.change_role(&member, &account_id, role).await?;
    let changed = state
        .orgs
        .members(&member)
        .await?
        .into_iter()
        .find(|m| m.account_id == account_id)
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
    Ids(account_id): Ids<AccountId>,
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
    let body = request.json::<InvitationBody>();
    let task = async {
        let body = body?;
        let role = super::one_of("role", &body.role, &super::role_names())?;
        let sent = state.orgs.invite(&member, &body.email, role).await?;
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
    };
    // Without mail the reply carries the invitation link, a secret.
    let kind = if state.config.mail.smtp_url.is_some() {
        Reply::Plain
    } else {
        Reply::HoldsSecret
    };
    once(&state, &member, &request, kind, task).await
}

/// Revoke an invitation
#[utoipa::path(delete, path = "/api/v1/invitations/{invitationId}", tag = "Organization",
    params(("invitationId" = String, Path)),
    responses((status = 204, description = "Revoked")), security(("org_token" = [])))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(invitation_id): Ids<String>,
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
    let window = Window {
        limit: listing.limit,
        after: listing.after,
    };
    let query = AuditQuery {
        actor: listing.actor,
        action: listing.action,
        from: None,
        to: None,
    };
    let times = (
        super::unix_secs("from", listing.from)?,
        super::unix_secs("to", listing.to)?,
    );
    let (entries, next) = state
        .orgs
        .audit()
        .entries_after(&member, &query, times, window.after()?, window.limit()?)
        .await?;
    Ok(Json(AuditList {
        data: entries.into_iter().map(AuditLogEntry::from).collect(),
        next: super::cursor(next),
    }))
}
