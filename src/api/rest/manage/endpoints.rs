//! An application's webhook endpoints: settings, state, signing secret, test events, replays.

use crate::model::ids::{AppId, EndpointId};

use super::controls::{controls, field, present_whole_number, HeaderBody};
use super::views::{Endpoint, EndpointList, ReplayJob, SigningSecretReply, TestResult};
use super::{json, once, Ids, Listing, Params, Reply, TokenMember};
use crate::api::rest::{ApiError, ApiRequest};
use crate::model::app::{check_timeout_secs, EndpointView, EventKind, DEFAULT_TIMEOUT_SECS};
use crate::model::controls::DeliveryControls;
use crate::model::AppError;
use crate::server::apps::EndpointInput;
use crate::server::clock::rfc3339;
use crate::server::operations;
use crate::server::orgs::Member;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Deserializer};

/// A new endpoint. Absent fields take the console's defaults.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewEndpointBody {
    /// `https://…` (or `http://…`); private, loopback and link-local addresses are refused.
    #[schema(max_length = 2048)]
    url: String,
    #[schema(max_length = 200)]
    description: Option<String>,
    /// Default true.
    enabled: Option<bool>,
    /// Event types to send; absent or `null` means every type, including types added later.
    #[schema(value_type = Option<Vec<String>>)]
    events: Option<Vec<String>>,
    /// Include the linked `payload` (Business plan and up). Default false.
    include_payload: Option<bool>,
    /// 1 to 30 seconds; default 6.
    #[schema(minimum = 1, maximum = 30)]
    #[serde(default, deserialize_with = "whole_number")]
    timeout_secs: Option<i64>,
    /// A facial ID's deliveries go one at a time, in event order. Default false.
    ordered: Option<bool>,
    /// `hmac` (default, `v1`), `ed25519` (`v1a`) or `both`.
    signature: Option<String>,
    /// Up to 10; each left out is removed.
    #[schema(max_items = 10)]
    headers: Option<Vec<HeaderBody>>,
    /// `default` or `null` (the operator's), `quick`, `persistent`, or delays like `0s,5s,5m`
    /// (at most 20 attempts, each delay at most 24h).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    retry_schedule: Option<Option<String>>,
    /// Deliveries per second at most, 1 to 10000; `null` for no limit.
    #[serde(default, deserialize_with = "present_whole_number")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    rate_per_sec: Option<Option<i64>>,
}

/// Changes to an endpoint: absent fields keep their value; `events: null` means every type.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EndpointPatchBody {
    #[schema(max_length = 2048)]
    url: Option<String>,
    #[schema(max_length = 200)]
    description: Option<String>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    events: Option<Option<Vec<String>>>,
    include_payload: Option<bool>,
    #[schema(minimum = 1, maximum = 30)]
    #[serde(default, deserialize_with = "whole_number")]
    timeout_secs: Option<i64>,
    /// A facial ID's deliveries go one at a time, in event order. Default false.
    ordered: Option<bool>,
    /// `hmac` (default, `v1`), `ed25519` (`v1a`) or `both`.
    signature: Option<String>,
    /// Up to 10; each left out is removed.
    #[schema(max_items = 10)]
    headers: Option<Vec<HeaderBody>>,
    /// `default` or `null` (the operator's), `quick`, `persistent`, or delays like `0s,5s,5m`
    /// (at most 20 attempts, each delay at most 24h).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    retry_schedule: Option<Option<String>>,
    /// Deliveries per second at most, 1 to 10000; `null` for no limit.
    #[serde(default, deserialize_with = "present_whole_number")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    rate_per_sec: Option<Option<i64>>,
}

/// A whole number, written `4` or `4.0` (JSON Schema's integers include both).
pub(super) fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let value = Option::<f64>::deserialize(deserializer)?;
    match value {
        None => Ok(None),
        // Exact: a whole number below 2^53 converts without loss.
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(Some(n as i64)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "expected a whole number, got {n}"
        ))),
    }
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestEventBody {
    /// `test` (default) or an event type, sent with example values (the document lists them).
    event_type: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Unix seconds: failed deliveries of events since then are sent again.
    #[schema(minimum = 0, maximum = 253402300799_i64)]
    since: i64,
}

/// List endpoints
#[utoipa::path(get, path = "/api/v1/applications/{appId}/endpoints", tag = "Endpoints",
    params(("appId" = String, Path), Listing), responses((status = 200, body = EndpointList)),
    security(("org_token" = [])))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    Params(listing): Params<Listing>,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state.apps.endpoints(&member, &app_id).await?;
    let page = listing.page(endpoints.into_iter().map(Endpoint::from).collect(), |e| {
        &e.id
    })?;
    Ok(Json(EndpointList {
        data: page.data,
        next: page.next,
    }))
}

/// Create an endpoint
#[utoipa::path(post, path = "/api/v1/applications/{appId}/endpoints", tag = "Endpoints",
    params(("appId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = NewEndpointBody, responses((status = 201, body = Endpoint)),
    security(("org_token" = [])))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids(app_id): Ids<AppId>,
    request: ApiRequest,
) -> Response {
    let body = request.json::<NewEndpointBody>();
    let task = async {
        let body = body?;
        let input = EndpointInput {
            url: body.url,
            description: body.description.unwrap_or_default(),
            enabled: body.enabled.unwrap_or(true),
            events: events(body.events)?,
            include_payload: body.include_payload.unwrap_or(false),
            timeout_secs: check_timeout_secs(body.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS))
                .map_err(|err| field("timeoutSecs", err))?,
            controls: Some(controls!(body).merged(DeliveryControls::default())?),
        };
        let (saved, _) = state.apps.add_endpoint(&member, &app_id, input).await?;
        json(StatusCode::CREATED, Endpoint::from(saved))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

/// Get an endpoint
#[utoipa::path(get, path = "/api/v1/applications/{appId}/endpoints/{endpointId}",
    tag = "Endpoints", params(("appId" = String, Path), ("endpointId" = String, Path)),
    responses((status = 200, body = Endpoint)), security(("org_token" = [])))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
) -> Result<Json<Endpoint>, ApiError> {
    Ok(Json(
        endpoint(&state, &member, &app_id, &endpoint_id)
            .await?
            .into(),
    ))
}

/// Update an endpoint
#[utoipa::path(patch, path = "/api/v1/applications/{appId}/endpoints/{endpointId}",
    tag = "Endpoints", params(("appId" = String, Path), ("endpointId" = String, Path)),
    request_body = EndpointPatchBody, responses((status = 200, body = Endpoint)),
    security(("org_token" = [])))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Result<Json<Endpoint>, ApiError> {
    let body: EndpointPatchBody = request.json()?;
    let now = endpoint(&state, &member, &app_id, &endpoint_id).await?;
    let input = EndpointInput {
        url: body.url.unwrap_or(now.url),
        description: body.description.unwrap_or(now.description),
        enabled: body.enabled.unwrap_or(now.enabled),
        events: match body.events {
            None => now.events,
            Some(events_sent) => events(events_sent)?,
        },
        include_payload: body.include_payload.unwrap_or(now.include_payload),
        timeout_secs: check_timeout_secs(body.timeout_secs.unwrap_or(now.timeout_secs))
            .map_err(|err| field("timeoutSecs", err))?,
        controls: Some(controls!(body).merged(now.controls)?),
    };
    let saved = state
        .apps
        .update_endpoint(&member, &app_id, &endpoint_id, input)
        .await?;
    Ok(Json(saved.into()))
}

/// Delete an endpoint
#[utoipa::path(delete, path = "/api/v1/applications/{appId}/endpoints/{endpointId}",
    tag = "Endpoints", params(("appId" = String, Path), ("endpointId" = String, Path)),
    responses((status = 204, description = "Deleted")), security(("org_token" = [])))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
) -> Result<StatusCode, ApiError> {
    state
        .apps
        .delete_endpoint(&member, &app_id, &endpoint_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable an endpoint
///
/// Also re-enables one Facehook disabled (410 Gone, or failing for days): what it holds is
/// delivered at once.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/endpoints/{endpointId}/enable",
    tag = "Endpoints",
    params(("appId" = String, Path), ("endpointId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Endpoint)), security(("org_token" = [])))]
pub async fn enable_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Response {
    let task = async {
        let now = endpoint(&state, &member, &app_id, &endpoint_id).await?;
        let saved = if now.disabled_reason.is_some() {
            state
                .apps
                .reenable_endpoint(&member, &app_id, &endpoint_id)
                .await?;
            endpoint(&state, &member, &app_id, &endpoint_id).await?
        } else {
            set_enabled(&state, &member, &app_id, now, true).await?
        };
        json(StatusCode::OK, Endpoint::from(saved))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

/// Disable an endpoint
///
/// Nothing is sent to it until it is enabled again.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/endpoints/{endpointId}/disable",
    tag = "Endpoints",
    params(("appId" = String, Path), ("endpointId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Endpoint)), security(("org_token" = [])))]
pub async fn disable_endpoint(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Response {
    let task = async {
        let now = endpoint(&state, &member, &app_id, &endpoint_id).await?;
        let saved = set_enabled(&state, &member, &app_id, now, false).await?;
        json(StatusCode::OK, Endpoint::from(saved))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

/// Reveal the signing secret
#[utoipa::path(get, path = "/api/v1/applications/{appId}/endpoints/{endpointId}/signing-secret",
    tag = "Endpoints", params(("appId" = String, Path), ("endpointId" = String, Path)),
    responses((status = 200, body = SigningSecretReply)), security(("org_token" = [])))]
pub async fn reveal_signing_secret(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
) -> Result<Json<SigningSecretReply>, ApiError> {
    let secrets = state
        .apps
        .signing_secrets(&member, &app_id, &endpoint_id)
        .await?;
    Ok(Json(secret_reply(secrets)))
}

/// Rotate the signing secret
///
/// The previous secret stays valid for 24 hours beside the new one.
#[utoipa::path(post,
    path = "/api/v1/applications/{appId}/endpoints/{endpointId}/signing-secret/rotate",
    tag = "Endpoints",
    params(("appId" = String, Path), ("endpointId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = SigningSecretReply)), security(("org_token" = [])))]
pub async fn rotate_signing_secret(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Response {
    let task = async {
        let secrets = state
            .apps
            .rotate_signing_secret(&member, &app_id, &endpoint_id)
            .await?;
        json(StatusCode::OK, secret_reply(secrets))
    };
    once(&state, &member, &request, Reply::HoldsSecret, task).await
}

/// Send a test event
///
/// Sends it now and answers with what the receiver did, within the endpoint's timeout.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/endpoints/{endpointId}/test",
    tag = "Endpoints",
    params(("appId" = String, Path), ("endpointId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = TestEventBody, responses((status = 200, body = TestResult)),
    security(("org_token" = [])))]
pub async fn send_test_event(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Response {
    let body = request.json::<TestEventBody>();
    let task = async {
        let body = body?;
        if let Some(event_type) = &body.event_type {
            let mut names = super::event_kind_names();
            names.push(crate::model::delivery::TEST_EVENT_NAME);
            super::one_of("eventType", event_type, &names)?;
        }
        let result = operations::send_test_event(
            &state,
            &member,
            &app_id,
            &endpoint_id,
            body.event_type.as_deref(),
        )
        .await?;
        json(StatusCode::OK, TestResult::from(result))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

/// Replay failed deliveries
///
/// Queues every failed delivery of the endpoint since `since` again, as a job (202); follow it
/// at `/applications/{appId}/replays/{id}`. With nothing to replay the job is finished at once
/// (200) and not kept.
#[utoipa::path(post, path = "/api/v1/applications/{appId}/endpoints/{endpointId}/replay",
    tag = "Deliveries",
    params(("appId" = String, Path), ("endpointId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReplayBody,
    responses((status = 202, body = ReplayJob), (status = 200, description = "Nothing to replay", body = ReplayJob)),
    security(("org_token" = [])))]
pub async fn replay_failed(
    State(state): State<AppState>,
    TokenMember(member): TokenMember,
    Ids((app_id, endpoint_id)): Ids<(AppId, EndpointId)>,
    request: ApiRequest,
) -> Response {
    let body = request.json::<ReplayBody>();
    let task = async {
        let body = body?;
        let since_ms = super::unix_secs("since", Some(body.since))?.unwrap_or_default();
        let progress =
            operations::replay_failed(&state, &member, &app_id, &endpoint_id, since_ms).await?;
        // A replay with nothing to send is done at once and kept nowhere to look up.
        let status = if progress.total == 0 {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        json(status, ReplayJob::from(progress))
    };
    once(&state, &member, &request, Reply::Plain, task).await
}

async fn endpoint(
    state: &AppState,
    member: &Member,
    app_id: &AppId,
    endpoint_id: &EndpointId,
) -> Result<EndpointView, AppError> {
    state
        .apps
        .endpoints(member, app_id)
        .await?
        .into_iter()
        .find(|endpoint| endpoint.id == *endpoint_id)
        .ok_or(AppError::NotFound)
}

async fn set_enabled(
    state: &AppState,
    member: &Member,
    app_id: &AppId,
    now: EndpointView,
    enabled: bool,
) -> Result<EndpointView, AppError> {
    let input = EndpointInput {
        url: now.url,
        description: now.description,
        enabled,
        events: now.events,
        include_payload: now.include_payload,
        timeout_secs: now.timeout_secs,
        controls: None,
    };
    state
        .apps
        .update_endpoint(member, app_id, &now.id, input)
        .await
}

/// The event types named, each checked; `None` (every type) when none were named.
fn events(names: Option<Vec<String>>) -> Result<Option<Vec<EventKind>>, ApiError> {
    let Some(names) = names else {
        return Ok(None);
    };
    let known = super::event_kind_names();
    names
        .iter()
        .map(|name| {
            let name = super::one_of("events", name, &known)?;
            EventKind::parse(name).map_err(ApiError::from)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn secret_reply(secrets: crate::model::app::SigningSecrets) -> SigningSecretReply {
    SigningSecretReply {
        current: secrets.current,
        previous: secrets.previous,
        previous_expires_at: secrets.previous_expires_at_ms.map(rfc3339),
        public_key: secrets.public_key,
        previous_public_key: secrets.previous_public_key,
    }
}
