//! Server functions for organizations: the switcher, the organization page (members,
//! invitations, settings), invitation links and the audit log. Each one that changes an
//! organization names it (`org_id`), so a form posted from one tab after switching in
//! another still acts on the organization it showed.

use crate::model::ids::{AccountId, OrgId};

use crate::model::org::{AuditPage, InvitationPreview, OrgChoice, OrgPage};
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// The organization the console shows and the others the account may switch to.
#[server(endpoint = "current_orgs")]
pub async fn current_orgs() -> Result<OrgChoice, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.member().await?;
    let all = ctx
        .state
        .orgs
        .memberships(member.actor.account_id()?)
        .await?;
    Ok(OrgChoice {
        current: member.summary(),
        all,
    })
}

#[server(endpoint = "switch_org")]
pub async fn switch_org(org_id: OrgId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.switch_org(&org_id).await?;
    ctx.flash(&format!("Now in {}.", member.org_name)).await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

#[server(endpoint = "create_org")]
pub async fn create_org(name: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let actor = ctx.actor().await?;
    let member = ctx.state.orgs.create(actor, &name).await?;
    ctx.switch_org(&member.org_id).await?;
    ctx.flash(&format!(
        "Organization {} created; invite your team below.",
        member.org_name
    ))
    .await?;
    leptos_axum::redirect("/org");
    Ok(())
}

/// The organization page of the organization the console shows.
#[server(endpoint = "org_settings")]
pub async fn org_settings() -> Result<OrgPage, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.member().await?;
    let orgs = &ctx.state.orgs;
    Ok(OrgPage {
        members: orgs.members(&member).await?,
        invitations: orgs.invitations(&member).await?,
        tokens: if member.role.allows(crate::model::org::Action::ManageMembers) {
            orgs.tokens(&member).await?
        } else {
            Vec::new()
        },
        mail_configured: ctx.mail_configured(),
        alerts: ctx.state.alerts.settings(&member).await?,
        issued_token: ctx.take_issued_token().await?,
        invitation_link: ctx.take_invitation_link().await?,
        org: member.summary(),
    })
}

#[server(endpoint = "rename_org")]
pub async fn rename_org(org_id: OrgId, name: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.rename(&member, &name).await?;
    ctx.flash("Organization renamed.").await
}

#[server(endpoint = "delete_org")]
pub async fn delete_org(org_id: OrgId, confirmation: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.delete(&member, &confirmation).await?;
    ctx.flash(&format!("Organization {} deleted.", member.org_name))
        .await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

/// Invites someone by email; without mail, the page shows the link to pass on, once.
#[server(endpoint = "invite_member")]
pub async fn invite_member(
    org_id: OrgId,
    email: String,
    role: String,
) -> Result<Option<String>, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    let sent = ctx.state.orgs.invite(&member, &email, &role).await?;
    announce_invitation(&ctx, &sent).await?;
    Ok(sent.link)
}

#[server(endpoint = "resend_invitation")]
pub async fn resend_invitation(
    org_id: OrgId,
    invitation_id: String,
) -> Result<Option<String>, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    let sent = ctx.state.orgs.resend(&member, &invitation_id).await?;
    announce_invitation(&ctx, &sent).await?;
    Ok(sent.link)
}

#[cfg(feature = "ssr")]
async fn announce_invitation(
    ctx: &RequestContext,
    sent: &crate::server::orgs::SentInvitation,
) -> Result<(), AppError> {
    match &sent.link {
        Some(link) => {
            ctx.hold_invitation_link(link).await?;
            ctx.flash(&format!(
                "Invitation made for {}. This server sends no mail: copy the link below and pass it on.",
                sent.email
            ))
            .await
        }
        None => {
            ctx.flash(&format!("Invitation mailed to {}.", sent.email))
                .await
        }
    }
}

#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(org_id: OrgId, invitation_id: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.revoke(&member, &invitation_id).await?;
    ctx.flash("Invitation revoked: its link no longer works.")
        .await
}

#[server(endpoint = "change_member_role")]
pub async fn change_member_role(
    org_id: OrgId,
    account_id: AccountId,
    role: String,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state
        .orgs
        .change_role(&member, &account_id, &role)
        .await?;
    ctx.flash("Role changed.").await
}

#[server(endpoint = "remove_member")]
pub async fn remove_member(org_id: OrgId, account_id: AccountId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.remove(&member, &account_id).await?;
    ctx.flash("Member removed.").await
}

#[server(endpoint = "leave_org")]
pub async fn leave_org(org_id: OrgId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.leave(&member).await?;
    ctx.flash(&format!("You left {}.", member.org_name)).await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

#[server(endpoint = "transfer_ownership")]
pub async fn transfer_ownership(org_id: OrgId, account_id: AccountId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.transfer(&member, &account_id).await?;
    ctx.flash("Ownership transferred; you are now an admin.")
        .await
}

/// What an invitation link offers; anyone holding the link may see it.
#[server(endpoint = "invitation_details")]
pub async fn invitation_details(token: String) -> Result<InvitationPreview, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.state.orgs.preview(&token).await
}

/// Joins the invitation's organization as the signed-in account and opens it.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let actor = ctx.actor().await?;
    let member = ctx.state.orgs.accept(actor, &token).await?;
    ctx.switch_org(&member.org_id).await?;
    ctx.flash(&format!(
        "Welcome to {}: you joined as {}.",
        member.org_name,
        member.role.label()
    ))
    .await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

/// One page of the shown organization's audit log, filtered as the URL says.
#[server(endpoint = "audit_log")]
pub async fn audit_log(
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
) -> Result<AuditPage, AppError> {
    use crate::server::orgs::AuditQuery;
    let ctx = RequestContext::load().await?;
    let member = ctx.member().await?;
    let query = AuditQuery {
        actor,
        action,
        from,
        to,
    };
    let page = crate::model::parse_page(page.as_deref())?;
    ctx.state.orgs.audit().page(&member, &query, page).await
}
