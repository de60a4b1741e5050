//! The management API (`/api/v1/applications…`, `/members`, `/invitations`, `/audit-log`,
//! `/event-types`), authenticated by an organization API token (`fht_…`). Thin: the token
//! becomes a `Member`, and every handler calls the same server functions as the console.

mod apps;
mod deliveries;
mod endpoints;
mod org;
pub(super) mod views;

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
use crate::server::store::KeyState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use std::net::SocketAddr;

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
}

/// The organization member a request's API token acts as.
pub struct TokenMember(pub Member);

impl FromRequestParts<AppState> for TokenMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::unauthorized_token)?;
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
        if let RateDecision::Limited { retry_after } =
            state.rate_limiter.check(&member.actor.account_id)
        {
            return Err(ApiError::rate_limited(retry_after));
        }
        if parts.method == Method::GET {
            // Changes leave their own entries; a read leaves this one, so the log shows
            // everything a token did.
            let path: String = parts.uri.path().chars().take(200).collect();
            state
                .orgs
                .audit()
                .record(&member, AuditAction::ApiRead, ("request", &path), None)
                .await?;
        }
        Ok(TokenMember(member))
    }
}

/// `?limit=&after=`: up to `limit` items (1 to 100, default 20) after the item `after`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Listing {
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(max_length = 64)]
    after: Option<String>,
}

impl Listing {
    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(limit @ 1..=100) => Ok(limit),
            Some(_) => Err(ApiError::invalid("limit", "limit must be from 1 to 100.")),
        }
    }

    fn after(&self) -> Option<&str> {
        self.after
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
    }

    /// One page of a list already held whole (small lists: applications, endpoints,
    /// members, invitations), in ID order: IDs grow with time, so an item added while a
    /// client pages sorts last and nothing shifts under the cursor.
    fn page<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> &str) -> Result<Page<T>, ApiError> {
        let limit = self.limit()? as usize;
        items.sort_by(|a, b| id(a).cmp(id(b)));
        if let Some(after) = self.after() {
            items.retain(|item| id(item) > after);
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = more
            .then(|| items.last().map(|item| id(item).to_owned()))
            .flatten();
        Ok(Page { data: items, next })
    }
}

/// A list's items and the cursor to the next page.
pub struct Page<T> {
    data: Vec<T>,
    next: Option<String>,
}

/// Reads `?…` into `T`, answering a bad query in the API's error shape.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if query.contains("%00") {
            return Err(ApiError::invalid("query", "Query values cannot hold NUL."));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|err| {
                ApiError::invalid(
                    "query",
                    format!("The query is not valid: {}", err.body_text()),
                )
            })
    }
}

/// Runs a state-changing POST once per `Idempotency-Key`: a repeat gets the first reply
/// (with `Idempotent-Replayed: true`), a repeat while the first still runs gets 409, and a
/// request that failed leaves the key free for a retry.
async fn once<F>(state: &AppState, member: &Member, request: &ApiRequest, run: F) -> Response
where
    F: std::future::Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = request.idempotency_key.as_deref() else {
        return reply(run.await);
    };
    let token_id = &member.actor.account_id;
    let fingerprint = request.fingerprint();
    let store = &state.store;
    match store.reserve_token_key(token_id, key, &fingerprint).await {
        Err(err) => ApiError::from(crate::model::AppError::from(err)).into_response(),
        Ok(KeyState::Running { request_hash }) => conflict(
            request_hash == fingerprint,
            "A request with this Idempotency-Key is still running; retry in a moment.",
        ),
        Ok(KeyState::Done {
            request_hash,
            status_code,
            body,
        }) => {
            if request_hash != fingerprint {
                return conflict(false, "");
            }
            let status = u16::try_from(status_code)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let mut response = (status, Json(body)).into_response();
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            response
        }
        Ok(KeyState::Reserved) => match run.await {
            Ok((status, body)) => {
                let kept = store
                    .complete_token_key(
                        token_id,
                        key,
                        i64::from(status.as_u16()),
                        &body.to_string(),
                    )
                    .await;
                if let Err(err) = kept {
                    // Done, but not remembered: a retry with this key would do it again.
                    tracing::warn!(error = %err, "could not keep an idempotent reply");
                }
                (status, Json(body)).into_response()
            }
            Err(err) => {
                if let Err(release) = store.release_token_key(token_id, key).await {
                    tracing::warn!(error = %release, "could not free an idempotency key");
                }
                err.into_response()
            }
        },
    }
}

fn conflict(same_request: bool, running: &str) -> Response {
    if same_request {
        ApiError::new(StatusCode::CONFLICT, "idempotency_key_in_use", running).into_response()
    } else {
        ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request in the last 24 hours.",
        )
        .into_response()
    }
}

fn reply(result: Result<(StatusCode, Value), ApiError>) -> Response {
    match result {
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// A reply body as JSON.
fn json<T: serde::Serialize>(status: StatusCode, body: T) -> Result<(StatusCode, Value), ApiError> {
    serde_json::to_value(body)
        .map(|value| (status, value))
        .map_err(|err| ApiError::from(crate::server::error::internal(err)))
}
