//! Applications, their credentials, their facial IDs, and the event-type catalog.

use crate::model::ids::AppId;

use super::views::{
    ApiKeyReply, Application, ApplicationList, CreatedApplication, EventType, EventTypeList,
    FacialIdList, WebhookTokenReply,
};
use super::{json, once, Ids, Listing, Params, Reply, TokenMember, Window};
use crate::api::rest::{facial_id_body, ApiError, ApiRequest, FacialIdReply};
use crate::model::app::Plan;
use crate::model::org::Action;
use crate::server::operations;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    /// Up to 80 characters, not only spaces, without control characters.
    #[schema(max_length = 80)]
    name: String,
}

/// List applications
#[utoipa::path(get, path = "/api/v1/applications", tag = "Applications", params(Listing),
    responses((status = 200, body = ApplicationList)), security(("org_token" = [])))]
pub async fn list_applications(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Params(listing): Params<Listing>,
) -> Result<Json<ApplicationList>, ApiError> {
    let apps = state.apps.list(&member).await?;
    let page = listing.page(apps.into_iter().map(Application::from).collect(), |a| &a.id)?;
    Ok(Json(ApplicationList {
        data: page.data,
        next: page.next,
    }))
}

/// Create an application
///
/// On the Free plan; the reply carries its API key this once.
#[utoipa::path(post, path = "/api/v1/applications", tag = "Applications",
    request_body = ApplicationBody, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CreatedApplication)), security(("org_token" = [])))]
pub async fn create_application(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    request: ApiRequest,
) -> Response {
    let body = request.json::<ApplicationBody>();
    let task = async {
        let body = body?;
        let issued = state.apps.create(&member, &body.name, Plan::Free).await?;
        let application = application(&state, &member, &issued.public_id).await?;
        json(
            StatusCode::CREATED,
            CreatedApplication {
                application,
                api_key: issued.api_key,
            },
        )
    };
    once(&state, &member, &request, Reply::HoldsSecret, task).await
}

/// Get an application
#[utoipa::path(get, path = "/api/v1/applications/{appId}", tag = "Applications",
    params(("appId" = String, Path)), responses((status = 200, body = Application)),
    security(("org_token" = [])))]
pub async fn get_application(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(application(&state, &member, &app_id).await?))
}

/// Rename an application
#[utoipa::path(patch, path = "/api/v1/applications/{appId}", tag = "Applications",
    params(("appId" = String, Path)), request_body = ApplicationBody,
    responses((status = 200, body = Application)), security(("org_token" = [])))]
pub async fn rename_application(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    request: ApiRequest,
) -> Result<Json<Application>, ApiError> {
    let body: ApplicationBody = request.json()?;
    state.apps.rename(&member, &app_id, &body.name).await?;
    Ok(Json(application(&state, &member, &app_id).await?))
}

/// Delete an application
///
/// With its endpoints, events, deliveries and facial IDs; its API key stops working.
#[utoipa::path(delete, path = "/api/v1/applications/{appId}", tag = "Applications",
    params(("appId" = String, Path)), responses((status = 204, description = "Deleted")),
    security(("org_token" = [])))]
pub async fn delete_application(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
) -> Result<StatusCode, ApiError> {
    // The console asks for the name typed out; a DELETE request is its own confirmation.
    let app = state.apps.detail(&member, &app_id).await?;
    state.apps.delete(&member, &app_id, &app.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate the API key
///
/// The old key stops working at once.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/api-key/rotate", tag = "Applications",
    params(("appId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ApiKeyReply)), security(("org_token" = [])))]
pub async fn rotate_api_key(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    request: ApiRequest,
) -> Response {
    let task = async {
        let issued = state.apps.rotate_api_key(&member, &app_id).await?;
        json(
            StatusCode::OK,
            ApiKeyReply {
                api_key: issued.api_key,
            },
        )
    };
    once(&state, &member, &request, Reply::HoldsSecret, task).await
}

/// Rotate the webhook token
///
/// Receivers get the new token in `WWW-Authenticate` from the next delivery on.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/webhook-token/rotate",
    tag = "Applications",
    params(("appId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = WebhookTokenReply)), security(("org_token" = [])))]
pub async fn rotate_webhook_token(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    request: ApiRequest,
) -> Response {
    let task = async {
        let webhook_token = state.apps.rotate_webhook_token(&member, &app_id).await?;
        json(StatusCode::OK, WebhookTokenReply { webhook_token })
    };
    once(&state, &member, &request, Reply::HoldsSecret, task).await
}

/// List facial IDs
#[utoipa::path(get, path = "/api/v1/applications/{appId}/facial-ids", tag = "Facial IDs",
    params(("appId" = String, Path), Window), responses((status = 200, body = FacialIdList)),
    security(("org_token" = [])))]
pub async fn list_facial_ids(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    Params(window): Params<Window>,
) -> Result<Json<FacialIdList>, ApiError> {
    let app = operations::owned_app(&state, &member, &app_id, Action::ViewApps).await?;
    let after = window.after()?;
    let (records, next) = state
        .ingest
        .facial_ids_after(
            &app.public_id,
            after.as_ref().map(|(at, id)| (*at, id.as_str())),
            window.limit()?,
        )
        .await?;
    let data = records.into_iter().map(facial_id_body).collect();
    Ok(Json(FacialIdList {
        data,
        next: super::cursor(next),
    }))
}

/// Get a facial ID
#[utoipa::path(get, path = "/api/v1/applications/{appId}/facial-ids/{facialId}",
    tag = "Facial IDs", params(("appId" = String, Path), ("facialId" = String, Path)),
    responses((status = 200, body = FacialIdReply)), security(("org_token" = [])))]
pub async fn get_app_facial_id(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, facial_id)): Ids<(AppId, String)>,
) -> Result<Json<FacialIdReply>, ApiError> {
    let app = operations::owned_app(&state, &member, &app_id, Action::ViewApps).await?;
    let record = state.ingest.facial_id(&app.public_id, &facial_id).await?;
    Ok(Json(facial_id_body(record)))
}

/// Delete a facial ID
///
/// Emits a `deletion` event to subscribed endpoints, as the intake API's DELETE does.
#[utoipa::path(delete, path = "/api/v1/applications/{appId}/facial-ids/{facialId}",
    tag = "Facial IDs", params(("appId" = String, Path), ("facialId" = String, Path)),
    responses((status = 204, description = "Deleted; the deletion event is stored")),
    security(("org_token" = [])))]
pub async fn delete_app_facial_id(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, facial_id)): Ids<(AppId, String)>,
) -> Result<StatusCode, ApiError> {
    operations::delete_facial_id(&state, &member, &app_id, &facial_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List event types
///
/// Every `eventName` receivers can get, `test` included.
#[utoipa::path(get, path = "/api/v1/event-types", tag = "Event types",
    responses((status = 200, body = EventTypeList)), security(("org_token" = [])))]
pub async fn list_event_types(TokenMember(_): TokenMember) -> impl IntoResponse {
    use crate::model::catalog::{event_label, event_names, fires_when};
    let data = event_names()
        .map(|name| EventType {
            name: name.to_owned(),
            label: event_label(name).to_owned(),
            fires_when: fires_when(name).to_owned(),
        })
        .collect();
    Json(EventTypeList { data, next: None })
}

/// The application as the list shows it; another organization's is not found.
async fn application(
    state: &AppState,
    member: &crate::server::orgs::Member,
    app_id: &AppId,
) -> Result<Application, ApiError> {
    let app = state.apps.detail(member, app_id).await?;
    state
        .apps
        .list(member)
        .await?
        .into_iter()
        .find(|summary| summary.public_id == app.public_id)
        .map(Application::from)
        .ok_or_else(|| ApiError::from(crate::model::AppError::NotFound))
}
