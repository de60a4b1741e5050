//! Server functions of the operator's `/admin` page. Non-operators get `NotFound`.

use crate::model::ids::{AccountId, AppId};

use crate::model::admin::AdminOverview;
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;

#[server(endpoint = "operator_overview")]
pub async fn operator_overview() -> Result<AdminOverview, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.operator().await?;
    ctx.state.admin.overview().await
}

#[server(endpoint = "set_app_plan")]
pub async fn set_app_plan(public_id: AppId, plan: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let operator = ctx.operator().await?;
    let plan = crate::model::app::Plan::parse(&plan)?;
    let actor = ctx.actor_for(&operator);
    ctx.state.apps.set_plan(&actor, &public_id, plan).await?;
    if ctx.is_plain_form_post() {
        ctx.flash("Plan changed.").await?;
    }
    Ok(())
}

#[server(endpoint = "set_account_disabled")]
pub async fn set_account_disabled(account_id: AccountId, disabled: String) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    let operator = ctx.operator().await?;
    let disabled = match disabled.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(AppError::invalid(
                "disabled",
                format!("Expected true or false, got {other:?}."),
            ))
        }
    };
    ctx.state
        .admin
        .set_account_disabled(&operator.id, &account_id, disabled)
        .await
}

/// The delivery system: queue depth, throughput and dispatcher replicas.
#[server(endpoint = "system_overview")]
pub async fn system_overview() -> Result<crate::model::admin::SystemView, AppError> {
    let ctx = RequestContext::load().await?;
    ctx.operator().await?;
    ctx.state.system.view().await
}
