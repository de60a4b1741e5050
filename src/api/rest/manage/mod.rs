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
use axum::extract::OriginalUri;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
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
        if let Some(ActedAs(slot)) = parts.extensions.get::<ActedAs>() {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some((state.clone(), member.clone()));
            }
        }
        Ok(TokenMember(member))
    }
}

/// `?limit=&after=` of a list ordered by ID (applications, endpoints, members,
/// invitations): up to `limit` items after the item whose ID is `after`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Listing {
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    after: Option<String>,
}

/// `?limit=&after=` of a list ordered newest first (deliveries, facial IDs, the audit
/// log): `after` is the previous page's `next`, a position that needs no row to still exist.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,64}$")]
    after: Option<String>,
}

fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(20),
        Some(limit @ 1..=100) => Ok(limit),
        Some(_) => Err(ApiError::invalid("limit", "limit must be from 1 to 100.")),
    }
}

fn is_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "after",
        "after must be the `next` of the previous page of this list.",
    )
}

impl Window {
    fn limit(&self) -> Result<u32, ApiError> {
        limit(self.limit)
    }

    /// The position `after` names: a time in milliseconds and an ID.
    fn after(&self) -> Result<Option<(i64, String)>, ApiError> {
        let Some(raw) = self.after.as_deref() else {
            return Ok(None);
        };
        let (ms, id) = raw.split_once('.').ok_or_else(bad_cursor)?;
        let digits = (1..=15).contains(&ms.len()) && ms.bytes().all(|b| b.is_ascii_digit());
        match ms.parse::<i64>() {
            Ok(ms) if digits && is_id(id) => Ok(Some((ms, id.to_owned()))),
            _ => Err(bad_cursor()),
        }
    }
}

/// `raw` if it is exactly one of `allowed` (JSON values are not trimmed or re-cased).
fn one_of<'a>(field: &str, raw: &'a str, allowed: &[&str]) -> Result<&'a str, ApiError> {
    if allowed.contains(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "{field} must be one of {}; got {:?}.",
                allowed.join(", "),
                raw.chars().take(40).collect::<String>()
            ),
        ))
    }
}

/// The roles' names, as the API spells them.
fn role_names() -> Vec<&'static str> {
    crate::model::org::Role::ALL.map(|r| r.as_str()).to_vec()
}

/// The event types an endpoint may subscribe to.
fn event_kind_names() -> Vec<&'static str> {
    crate::model::app::EventKind::ALL
        .map(|k| k.as_str())
        .to_vec()
}

/// The latest time the API takes, in Unix seconds (9999-12-31T23:59:59Z).
const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// A time given in Unix seconds, as milliseconds.
fn unix_secs(field: &str, raw: Option<i64>) -> Result<Option<i64>, ApiError> {
    match raw {
        None => Ok(None),
        Some(secs @ 0..=MAX_UNIX_SECS) => Ok(Some(secs * 1000)),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} is a time in Unix seconds, from 0 to {MAX_UNIX_SECS}."),
        )),
    }
}

/// The cursor of a position, as `next` gives it.
fn cursor(position: Option<(i64, String)>) -> Option<String> {
    position.map(|(ms, id)| format!("{ms}.{id}"))
}

impl Listing {
    /// One page of a list already held whole (it is short), in ID order, after the item
    /// `after`: an item added while a client pages never shifts the cursor.
    fn page<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> &str) -> Result<Page<T>, ApiError> {
        let limit = limit(self.limit)? as usize;
        items.sort_by(|a, b| id(a).cmp(id(b)));
        if let Some(after) = self.after.as_deref() {
            if !is_id(after) {
                return Err(bad_cursor());
            }
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

/// An ID from the path; one no object can have (a NUL, undecodable bytes) is not found.
pub struct Ids<T>(pub T);

impl<T, S> FromRequestParts<S> for Ids<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found = || ApiError::from(crate::model::AppError::NotFound);
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(ids)| Ids(ids))
            .map_err(|_| not_found())
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
                let text = err.body_text();
                ApiError::invalid(
                    &query_field(&text),
                    format!("The query is not valid: {text}"),
                )
            })
    }
}

/// The query parameter a deserialization error is about: `unknown field `x``, or the name
/// before the first `: ` of the reason; `query` when neither names one.
fn query_field(text: &str) -> String {
    let reason = text.split_once("query string: ").map_or(text, |(_, r)| r);
    let named = reason
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .or_else(|| reason.split_once(": ").map(|(name, _)| name));
    match named {
        Some(name) if is_id(name) => name.to_owned(),
        _ => "query".to_owned(),
    }
}

/// Whether a POST's reply carries a secret (a new API key, token or invitation link), which
/// is never written to the database: a repeat of it is told the secret was shown once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    Plain,
    HoldsSecret,
}

/// Runs a state-changing POST once per `Idempotency-Key`: a repeat gets the first reply
/// (with `Idempotent-Replayed: true`), a repeat while the first still runs gets 409, and a
/// request that failed leaves the key free for a retry. The work runs as its own task, so a
/// client that hangs up mid-way cannot leave it half recorded.
async fn once<F>(
    state: &AppState,
    member: &Member,
    request: &ApiRequest,
    kind: Reply,
    run: F,
) -> Response
where
    F: std::future::Future<Output = Result<(StatusCode, Value), ApiError>> + Send + 'static,
{
    let run = async move {
        tokio::spawn(run).await.unwrap_or_else(|err| {
            Err(ApiError::from(crate::server::error::internal(format!(
                "a management request's task ended: {err}"
            ))))
        })
    };
    let Some(key) = request.idempotency_key.clone() else {
        return reply(run.await);
    };
    let token_id = member.actor.account_id.clone();
    let fingerprint = request.fingerprint();
    let store = state.store.clone();
    match reserve(&store, &token_id, &key, &fingerprint).await {
        Err(err) => err.into_response(),
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
        Ok(KeyState::Reserved) => {
            let (kept_status, kept_body, result) = match run.await {
                Ok((status, body)) => match kind {
                    Reply::Plain => (status, body.to_string(), Ok((status, body))),
                    Reply::HoldsSecret => {
                        let refusal = ApiError::new(
                            StatusCode::CONFLICT,
                            "idempotency_key_used",
                            "This request was already done, and its reply held a secret that is shown only once; rotate it or list the objects to continue.",
                        );
                        (
                            StatusCode::CONFLICT,
                            refusal.body().to_string(),
                            Ok((status, body)),
                        )
                    }
                },
                Err(err) => {
                    if let Err(release) = store.release_token_key(&token_id, &key).await {
                        tracing::warn!(error = %release, "could not free an idempotency key");
                    }
                    return err.into_response();
                }
            };
            let kept = store
                .complete_token_key(&token_id, &key, i64::from(kept_status.as_u16()), &kept_body)
                .await;
            if let Err(err) = kept {
                // Done, but not remembered: a retry with this key would do it again.
                tracing::warn!(error = %err, "could not keep an idempotent reply");
            }
            reply(result)
        }
    }
}

/// Holds `key` for this request. A key freed between the attempt to write it and the read
/// of its state (its first request failed) is tried again, so two requests never both hold it.
async fn reserve(
    store: &crate::server::store::Store,
    token_id: &str,
    key: &str,
    fingerprint: &str,
) -> Result<KeyState, ApiError> {
    for _ in 0..3 {
        match store.reserve_token_key(token_id, key, fingerprint).await {
            Ok(Some(state)) => return Ok(state),
            Ok(None) => continue,
            Err(err) => return Err(ApiError::from(crate::model::AppError::from(err))),
        }
    }
    Ok(KeyState::Running {
        request_hash: fingerprint.to_owned(),
    })
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
