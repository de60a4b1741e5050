//! Server functions for an organization's API tokens on its settings page: make one (shown
//! once), revoke one. The rules live in `server::orgs`.

use crate::model::ids::OrgId;

use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

/// Makes a token; the page after the redirect shows it once to copy.
#[server(endpoint = "create_api_token")]
pub async fn create_api_token(
    org_id: OrgId,
    name: String,
    role: String,
    expires_in_days: Option<String>,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    let days = crate::model::token::parse_expiry_days(expires_in_days.as_deref())?;
    let issued = ctx
        .state
        .orgs
        .create_token(&member, &name, &role, days)
        .await?;
    ctx.hold_issued_token(&issued.token).await?;
    ctx.flash(&format!(
        "Token “{}” made. Copy it now: it is not shown again.",
        issued.view.name
    ))
    .await
}

#[server(endpoint = "revoke_api_token")]
pub async fn revoke_api_token(org_id: OrgId, token_id: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.org_member(&org_id).await?;
    ctx.state.orgs.revoke_token(&member, &token_id).await?;
    ctx.flash("Token revoked: it stopped working.").await
}
