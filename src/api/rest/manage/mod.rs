//! The management API (`/api/v1/applications…`, `/members`, `/invitations`, `/audit-log`,
//! `/event-types`), authenticated by an organization API token (`fht_…`). Thin: the token
//! becomes a `Member`, and every handler calls the same server functions as the console.

mod apps;
mod controls;
mod deliveries;
mod endpoints;
mod idempotency;
mod input;
mod org;
pub(super) mod views;

use idempotency::*;
use input::*;

pub(super) use apps::*;
pub(super) use deliveries::*;
pub(super) use endpoints::*;
pub(super) use org::*;

use super::{ApiError, ApiRequest};
use crate::model::org::AuditAction;
use crate::server::ingest::RateDecision;
use crate::server::orgs::{Member, TOKEN_PREFIX};
use crate::server::secrets::API_KEY_PREFIX;
use crate::server::state::AppState;
use axum::extract::OriginalUri;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/applications/{app_id}",
            get(get_application)
                .patch(rename_application)
                .delete(delete_application),
        )
        .route(
            "/applications/{app_id}/api-key/rotate",
            post(rotate_api_key),
        )
        .route(
            "/applications/{app_id}/webhook-token/rotate",
            post(rotate_webhook_token),
        )
        .route(
            "/applications/{app_id}/endpoints",
            get(list_endpoints).post(create_endpoint),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}",
            get(get_endpoint)
                .patch(update_endpoint)
                .delete(delete_endpoint),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/enable",
            post(enable_endpoint),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/disable",
            post(disable_endpoint),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/signing-secret",
            get(reveal_signing_secret),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/signing-secret/rotate",
            post(rotate_signing_secret),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/test",
            post(send_test_event),
        )
        .route(
            "/applications/{app_id}/endpoints/{endpoint_id}/replay",
            post(replay_failed),
        )
        .route("/applications/{app_id}/deliveries", get(list_deliveries))
        .route(
            "/applications/{app_id}/deliveries/{delivery_id}",
            get(get_delivery),
        )
        .route(
            "/applications/{app_id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .route(
            "/applications/{app_id}/replays/{replay_id}",
            get(get_replay),
        )
        .route("/applications/{app_id}/facial-ids", get(list_facial_ids))
        .route(
            "/applications/{app_id}/facial-ids/{facial_id}",
            get(get_app_facial_id).delete(delete_app_facial_id),
        )
        .route("/event-types", get(list_event_types))
        .route("/members", get(list_members))
        .route(
            "/members/{account_id}",
            axum::routing::patch(change_member_role).delete(remove_member),
        )
        .route("/invitations", get(list_invitations).post(invite_member))
        .route(
            "/invitations/{invitation_id}",
            axum::routing::delete(revoke_invitation),
        )
        .route("/audit-log", get(list_audit_log))
        .layer(axum::middleware::from_fn(audit_every_request))
}

/// Where `TokenMember` leaves the member a request acted as, for `audit_every_request`.
#[derive(Clone, Default)]
struct ActedAs(Arc<Mutex<Option<(AppState, Member)>>>);

/// Writes every request a token made into its organization's audit log once it is answered:
/// method, path and status, reads and refusals included (a change also has its own entry).
/// The request runs as its own task, so a client that hangs up mid-way cannot cut short the
/// work, its idempotency record or this entry.
async fn audit_every_request(mut request: axum::extract::Request, next: Next) -> Response {
    let acted_as = ActedAs::default();
    let method = request.method().clone();
    let path: String = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |uri| uri.path())
        .chars()
        .take(200)
        .collect();
    request.extensions_mut().insert(acted_as.clone());
    let task = tokio::spawn(async move {
        let response = next.run(request).await;
        let taken = acted_as.0.lock().ok().and_then(|mut slot| slot.take());
        if let Some((state, member)) = taken {
            let details = serde_json::json!({
                "method": method.as_str(),
                "status": response.status().as_u16(),
            });
            let recorded = state
                .orgs
                .audit()
                .record(
                    &member,
                    AuditAction::ApiRequest,
                    ("request", &path),
                    Some(details),
                )
                .await;
            if let Err(err) = recorded {
                tracing::warn!(error = %err, "could not record an API request in the audit log");
            }
        }
        response
    });
    match task.await {
        Ok(response) => response,
        Err(err) => ApiError::from(crate::server::error::internal(format!(
            "a management request's task ended: {err}"
        )))
        .into_response(),
    }
}

/// The organization member a request's API token acts as.
pub struct TokenMember(pub Member);

impl FromRequestParts<AppState> for TokenMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = super::key::bearer(parts).ok_or_else(ApiError::unauthorized_token)?;
        if secret.starts_with(API_KEY_PREFIX) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("An application API key only reports events; manage with an organization API token ({TOKEN_PREFIX}…) made on the organization's settings page."),
            ));
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let member = state
            .orgs
            .authenticate_token(secret, &ip)
            .await?
            .ok_or_else(ApiError::unauthorized_token)?;
        if let Some(ActedAs(slot)) = parts.extensions.get::<ActedAs>() {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some((state.clone(), member.clone()));
            }
        }
        if let RateDecision::Limited { retry_after } = state
            .rate_limiter
            .check(member.actor.id.recorded().unwrap_or_default())
        {
            return Err(ApiError::rate_limited(retry_after));
        }
        Ok(TokenMember(member))
    }
}
