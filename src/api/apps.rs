//! Server functions for the Application Manager and the WEBHOOKS tab. Each one reads the
//! session, calls `server::apps` as the signed-in member, and maps nothing else.

// Server-function arguments mirror the HTML form's fields one for one, so forms post
// without JavaScript; `save_endpoint` has as many arguments as its form has fields.
#![allow(clippy::too_many_arguments)]
use crate::model::ids::{AppId, EndpointId, OrgId};

use crate::model::app::{AppDetail, AppSummary, EndpointView, SigningSecrets};
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;
#[cfg(feature = "ssr")]
use crate::model::org::Action;

#[server(endpoint = "list_apps")]
pub async fn list_apps() -> Result<Vec<AppSummary>, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.member().await?;
    ctx.state.apps.list(&member).await
}

/// Creates an application in `org_id` (the organization the form showed; default the one the
/// console shows) and opens its page, where the API key is shown once.
#[server(endpoint = "create_app")]
pub async fn create_app(name: String, org_id: Option<OrgId>) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let owner = ctx.account().await?;
    ctx.state.auth.ensure_may_create_apps(&owner)?;
    let member = match org_id.filter(|id| !id.as_str().is_empty()) {
        Some(org_id) => ctx.org_member(&org_id).await?,
        None => ctx.member().await?,
    };
    let issued = ctx
        .state
        .apps
        .create(&member, &name, crate::model::app::Plan::Free)
        .await?;
    ctx.hold_issued_key(&issued).await?;
    leptos_axum::redirect(&format!("/apps/{}", issued.public_id));
    Ok(())
}

#[server(endpoint = "get_app")]
pub async fn get_app(public_id: AppId) -> Result<AppDetail, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state.apps.detail(&member, &public_id).await
}

#[server(endpoint = "take_issued_api_key")]
pub async fn take_issued_api_key(public_id: AppId) -> Result<Option<String>, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.account().await?;
    ctx.take_issued_key(&public_id).await
}

#[server(endpoint = "rename_app")]
pub async fn rename_app(public_id: AppId, name: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state.apps.rename(&member, &public_id, &name).await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Application renamed.").await?;
    }
    Ok(())
}

#[server(endpoint = "delete_app")]
pub async fn delete_app(public_id: AppId, confirmation: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state
        .apps
        .delete(&member, &public_id, &confirmation)
        .await?;
    ctx.flash("Application deleted.").await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

#[server(endpoint = "rotate_api_key")]
pub async fn rotate_api_key(public_id: AppId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let issued = ctx.state.apps.rotate_api_key(&member, &public_id).await?;
    ctx.hold_issued_key(&issued).await?;
    ctx.flash("API key rotated: the old key stopped working. Copy the new one below now.")
        .await?;
    leptos_axum::redirect(&format!("/apps/{}", issued.public_id));
    Ok(())
}

#[server(endpoint = "reveal_webhook_token")]
pub async fn reveal_webhook_token(public_id: AppId) -> Result<String, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state.apps.webhook_token(&member, &public_id).await
}

#[server(endpoint = "rotate_webhook_token")]
pub async fn rotate_webhook_token(public_id: AppId) -> Result<String, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let token = ctx
        .state
        .apps
        .rotate_webhook_token(&member, &public_id)
        .await?;
    if ctx.is_plain_form_post() {
        // The page after the redirect shows the new token.
        ctx.flash("Webhook token rotated: receivers need the new one now.")
            .await?;
        leptos_axum::redirect(&format!("/apps/{}/webhooks?reveal=token", public_id));
    }
    Ok(token)
}

#[server(endpoint = "list_endpoints")]
pub async fn list_endpoints(public_id: AppId) -> Result<Vec<EndpointView>, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state.apps.endpoints(&member, &public_id).await
}

/// One endpoint with its health; another owner's (or application's) is not found.
#[server(endpoint = "get_endpoint")]
pub async fn get_endpoint(
    public_id: AppId,
    endpoint_id: EndpointId,
) -> Result<EndpointView, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state
        .apps
        .endpoints(&member, &public_id)
        .await?
        .into_iter()
        .find(|endpoint| endpoint.id == endpoint_id)
        .ok_or(AppError::NotFound)
}

/// Adds an endpoint (no `endpoint_id`) or saves one. Checkboxes follow HTML form rules:
/// present means on. `events_mode` is `all` or `selected` (then `events[i]`, each a chosen
/// kind's name, count).
#[server(endpoint = "save_endpoint")]
pub async fn save_endpoint(
    public_id: AppId,
    endpoint_id: Option<EndpointId>,
    url: String,
    description: Option<String>,
    enabled: Option<String>,
    events_mode: Option<String>,
    events: Option<Vec<String>>,
    include_payload: Option<String>,
    timeout_secs: Option<String>,
) -> Result<EndpointView, AppError> {
    use crate::model::app::{parse_timeout_secs, EventKind};
    use crate::server::apps::EndpointInput;

    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let events = match events_mode.as_deref().unwrap_or("all") {
        "all" => None,
        "selected" => Some(
            events
                .unwrap_or_default()
                .iter()
                .map(|name| EventKind::parse(name))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => {
            return Err(AppError::invalid(
                "events_mode",
                format!("Unknown events mode {other:?}; expected all or selected."),
            ))
        }
    };
    let input = EndpointInput {
        url,
        description: description.unwrap_or_default(),
        enabled: enabled.is_some(),
        events,
        include_payload: include_payload.is_some(),
        timeout_secs: parse_timeout_secs(timeout_secs.as_deref().unwrap_or(""))?,
        controls: None,
    };
    let apps = &ctx.state.apps;
    let (saved, added) = match endpoint_id.filter(|id| !id.as_str().is_empty()) {
        Some(id) => (
            apps.update_endpoint(&member, &public_id, &id, input)
                .await?,
            false,
        ),
        None => (apps.add_endpoint(&member, &public_id, input).await?.0, true),
    };
    if ctx.is_plain_form_post() {
        if added {
            // A new endpoint opens on its own page, where the next step (a test event) is.
            ctx.flash("Endpoint added. Send it a test event to check the receiver.")
                .await?;
            leptos_axum::redirect(&endpoint_path(&public_id, &saved.id));
        } else {
            ctx.flash("Endpoint saved.").await?;
        }
    }
    Ok(saved)
}

#[server(endpoint = "delete_endpoint")]
pub async fn delete_endpoint(public_id: AppId, endpoint_id: EndpointId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state
        .apps
        .delete_endpoint(&member, &public_id, &endpoint_id)
        .await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Endpoint deleted.").await?;
        leptos_axum::redirect(&format!("/apps/{}/webhooks", public_id));
    }
    Ok(())
}

#[server(endpoint = "reveal_signing_secrets")]
pub async fn reveal_signing_secrets(
    public_id: AppId,
    endpoint_id: EndpointId,
) -> Result<SigningSecrets, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state
        .apps
        .signing_secrets(&member, &public_id, &endpoint_id)
        .await
}

#[server(endpoint = "rotate_signing_secret")]
pub async fn rotate_signing_secret(
    public_id: AppId,
    endpoint_id: EndpointId,
) -> Result<SigningSecrets, AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    let secrets = ctx
        .state
        .apps
        .rotate_signing_secret(&member, &public_id, &endpoint_id)
        .await?;
    if ctx.is_plain_form_post() {
        // The page after the redirect shows the new secret beside the previous one.
        ctx.flash("Signing secret rotated: the previous one stays valid for 24 hours.")
            .await?;
        leptos_axum::redirect(&format!(
            "{}?reveal=secret",
            endpoint_path(&public_id, &endpoint_id)
        ));
    }
    Ok(secrets)
}

/// Turns a disabled endpoint back on; what it holds is delivered at once.
#[server(endpoint = "reenable_endpoint")]
pub async fn reenable_endpoint(public_id: AppId, endpoint_id: EndpointId) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let member = ctx.app_member(&public_id, Action::ViewApps).await?;
    ctx.state
        .apps
        .reenable_endpoint(&member, &public_id, &endpoint_id)
        .await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Endpoint re-enabled.").await?;
        leptos_axum::redirect(&endpoint_path(&public_id, &endpoint_id));
    }
    Ok(())
}

/// The endpoint's page in the console.
#[cfg(feature = "ssr")]
fn endpoint_path(public_id: &AppId, endpoint_id: &EndpointId) -> String {
    format!("/apps/{public_id}/webhooks/{endpoint_id}")
}
