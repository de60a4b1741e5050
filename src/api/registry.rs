//! Server functions of the Facial IDs tab. Ownership is checked through `server::apps`
//! before the registry is read or changed.

use crate::model::ids::AppId;

use crate::model::registry::FacialIdPage;
use crate::model::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::context::RequestContext;
#[cfg(feature = "ssr")]
use crate::model::org::Action;

#[server(endpoint = "list_facial_ids")]
pub async fn list_facial_ids(
    public_id: AppId,
    search: Option<String>,
    page: Option<String>,
) -> Result<FacialIdPage, AppError> {
    let ctx = RequestContext::load().await?;
    let (_, app) = ctx.owned_app(&public_id, Action::ViewApps).await?;
    ctx.state
        .ingest
        .facial_id_page(
            &app.public_id,
            search.as_deref(),
            crate::model::parse_page(page.as_deref())?,
        )
        .await
}

/// Deletes a facial ID from the console; like the API's DELETE, it emits a `deletion` event.
#[server(endpoint = "delete_facial_id")]
pub async fn delete_facial_id(
    public_id: AppId,
    facial_id: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    let ctx = RequestContext::load().await?;
    // The role first, so a member who may not delete is told so rather than asked to confirm.
    let (member, _) = ctx.owned_app(&public_id, Action::DeleteFacialIds).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the box to confirm the deletion.",
        ));
    }
    crate::server::operations::delete_facial_id(&ctx.state, &member, &public_id, &facial_id)
        .await?;
    ctx.flash("Facial ID deleted.").await?;
    leptos_axum::redirect(&format!("/apps/{}/facial-ids", public_id));
    Ok(())
}
