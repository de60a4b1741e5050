//! The server-side REST API (`/api/v1`), authenticated by an application's API key.
//! Thin: authenticate, parse, call `server::ingest`, shape the JSON reply.

mod docs;
mod error;
mod key;
mod manage;

pub use error::{ApiError, ErrorDetail, ErrorReply};

use crate::model::app::EventKind;
use crate::server::clock::rfc3339;
use crate::server::ingest::{EventInput, Submitted};
use crate::server::state::AppState;
use crate::server::store::{FacialIdRecord, IdempotencyKey};
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use key::ApiApp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", post(post_event))
        .route(
            "/facial-ids/{facial_id}",
            get(get_facial_id).delete(delete_facial_id),
        )
        .route("/facial-ids/{facial_id}/payload", put(put_payload))
        .route("/facial-ids/{facial_id}/pincode", put(put_pincode))
        .merge(manage::router())
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::reference_page))
}

/// An event reported by the application's back end.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventBody {
    /// The event's kind: each kind is a variant of this body, with its own required fields.
    event_name: String,
    /// Required except for `enroll`, which generates one when absent.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    facial_id: Option<String>,
    /// The end user's IPv4 or IPv6 address.
    #[schema(min_length = 2, max_length = 45)]
    client_ip: String,
    #[schema(value_type = Option<DetailsBody>)]
    details: Option<Value>,
    /// Any JSON value up to 16 KiB: the linked payload (`enroll`, `payload_update`).
    #[schema(value_type = Option<Object>)]
    payload: Option<Value>,
    /// 4 to 16 digits (`pincode_update`); stored as a hash, never echoed.
    #[schema(pattern = "^[0-9]{4,16}$")]
    pincode: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsBody {
    /// 1 to 32 characters, not all spaces.
    #[schema(min_length = 1, max_length = 32, pattern = "\\S")]
    gender: Option<String>,
    /// 0 to 150.
    #[schema(minimum = 0, maximum = 150)]
    age: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PayloadBody {
    /// The new linked payload: any JSON value up to 16 KiB.
    #[schema(value_type = Object)]
    payload: Value,
    /// Defaults to the caller's address.
    #[schema(min_length = 2, max_length = 45)]
    client_ip: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PincodeBody {
    /// 4 to 16 digits.
    #[schema(pattern = "^[0-9]{4,16}$")]
    pincode: String,
    /// Defaults to the caller's address.
    #[schema(min_length = 2, max_length = 45)]
    client_ip: Option<String>,
}

/// The reply to an accepted event: it and its deliveries are committed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedReply {
    event_id: String,
    facial_id: String,
    /// Pending deliveries created, one per subscribed enabled endpoint.
    deliveries: u64,
}

/// A facial ID in the registry.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacialIdReply {
    facial_id: String,
    enrolled: bool,
    /// RFC 3339, UTC.
    enrolled_at: String,
    last_authentication_at: Option<String>,
    gender: Option<String>,
    age: Option<i64>,
    #[schema(value_type = Option<Object>)]
    payload: Value,
}

/// The request as the idempotency check and the handlers need it.
struct ApiRequest {
    method: Method,
    path: String,
    idempotency_key: Option<String>,
    /// `Content-Type` names JSON (`application/json`, or any `+json` type).
    json_content: bool,
    body: Vec<u8>,
    peer_ip: IpAddr,
}

impl axum::extract::FromRequest<AppState> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("The body is larger than {MAX_BODY_BYTES} bytes (64 KiB)."),
            )
        })?;
        let idempotency_key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(value) => {
                let key = value.to_str().ok().filter(|k| {
                    !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())
                });
                Some(key.map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid(
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                    )
                })?)
            }
        };
        let peer_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let json_content = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|essence| essence.trim().to_ascii_lowercase())
            .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"));
        Ok(ApiRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            idempotency_key,
            json_content,
            body: body.to_vec(),
            peer_ip,
        })
    }
}

impl ApiRequest {
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !self.json_content {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON, with Content-Type: application/json.",
            ));
        }
        let mut reader = serde_json::Deserializer::from_slice(&self.body);
        let parsed = serde_path_to_error::deserialize(&mut reader).map_err(|err| {
            // The field at fault by its path (`timeoutSecs`, `events[2]`) where one is known.
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data if path != "." && !path.is_empty() => {
                    ApiError::invalid(&path, inner.to_string())
                }
                _ => ApiError::from_json(inner),
            }
        })?;
        // Nothing but white space may follow the value (as `from_slice` required).
        reader.end().map_err(ApiError::from_json)?;
        // The linked payload is kept as JSON text, where a NUL stays an escape.
        if let Some(field) = crate::api::input::nul_in_json(&self.body, &["payload"]) {
            let message = crate::api::input::NulField(field.clone()).message();
            return Err(ApiError::invalid(&field, message));
        }
        Ok(parsed)
    }

    /// Identifies "the same request" for an idempotency key: method, path and body.
    fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.method.as_str());
        hasher.update([0]);
        hasher.update(&self.path);
        hasher.update([0]);
        hasher.update(&self.body);
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn parse_client_ip(raw: Option<&str>, fallback: IpAddr) -> Result<IpAddr, ApiError> {
    match raw {
        None => Ok(fallback),
        Some(raw) => raw.trim().parse().map_err(|_| {
            ApiError::invalid(
                "clientIp",
                format!("clientIp {} is not an IPv4 or IPv6 address.", echo(raw)),
            )
        }),
    }
}

fn parse_event_name(raw: &str) -> Result<EventKind, ApiError> {
    EventKind::parse(raw).map_err(|_| {
        ApiError::invalid(
            "eventName",
            format!(
                "Unknown eventName {}; expected one of {}.",
                echo(raw),
                EventKind::names()
            ),
        )
    })
}

/// A client's value quoted back in an error, cut to 40 characters so a huge input is not
/// echoed whole.
fn echo(raw: &str) -> String {
    const MAX_CHARS: usize = 40;
    match raw.char_indices().nth(MAX_CHARS) {
        None => format!("{raw:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &raw[..cut], raw.len()),
    }
}

/// `details` as JSON Schema reads it: an object or null (serde alone would also take an
/// array for a struct), and an `age` that is a whole number even when written `38.0`.
fn parse_details(details: Option<Value>) -> Result<DetailsBody, ApiError> {
    let mut fields = match details {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(fields)) => fields,
        Some(_) => return Err(ApiError::invalid("details", "details must be an object.")),
    };
    if let Some(age) = fields.get_mut("age") {
        if let Some(whole) = age.as_f64().filter(|a| a.fract() == 0.0 && a.abs() < 1e15) {
            // Exact: a whole number below 2^53 converts without loss.
            *age = Value::from(whole as i64);
        }
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|err| ApiError::invalid("details", format!("details are not valid: {err}")))
}

fn payload_text(payload: Option<Value>) -> Option<String> {
    payload.filter(|p| !p.is_null()).map(|p| p.to_string())
}

/// Runs one state-changing request: answers a repeated idempotency key with the first reply,
/// otherwise records the event and keeps the reply for the key.
async fn submit(
    state: &AppState,
    app: &ApiApp,
    request: &ApiRequest,
    input: Result<EventInput, ApiError>,
) -> Response {
    let input = match input {
        Ok(input) => input,
        Err(err) => return err.into_response(),
    };
    let fingerprint = request.fingerprint();
    if let Some(key) = &request.idempotency_key {
        match state.ingest.stored_reply(&app.id, key).await {
            Ok(Some(stored)) => return replay(stored, &fingerprint),
            Ok(None) => {}
            Err(err) => return ApiError::from(err).into_response(),
        }
    }
    let idempotency = request
        .idempotency_key
        .as_deref()
        .map(|key| IdempotencyKey {
            key,
            request_hash: &fingerprint,
        });
    let render = |recorded: &crate::server::store::RecordedEvent, facial_id: &str| {
        let body = accepted_body(recorded.event_id.as_str(), facial_id, recorded.deliveries);
        (i64::from(StatusCode::ACCEPTED.as_u16()), body.to_string())
    };
    match state
        .ingest
        .submit(&app.id, input, idempotency, render)
        .await
    {
        Ok(Submitted::Recorded {
            event_id,
            facial_id,
            deliveries,
        }) => (
            StatusCode::ACCEPTED,
            Json(accepted_body(event_id.as_str(), &facial_id, deliveries)),
        )
            .into_response(),
        Ok(Submitted::Replayed(stored)) => replay(stored, &fingerprint),
        Err(err) => ApiError::from(err).into_response(),
    }
}

fn accepted_body(event_id: &str, facial_id: &str, deliveries: u64) -> Value {
    json!(AcceptedReply {
        event_id: event_id.to_owned(),
        facial_id: facial_id.to_owned(),
        deliveries,
    })
}

fn replay(stored: crate::server::store::StoredReply, fingerprint: &str) -> Response {
    if stored.request_hash != fingerprint {
        // A conflict with the request the key already stands for, not a fault in this one.
        return ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request in the last 24 hours.",
        )
        .into_response();
    }
    let status = u16::try_from(stored.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::ACCEPTED);
    let body: Value = serde_json::from_str(&stored.body).unwrap_or(Value::Null);
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    response
}

/// Report an event
///
/// Records the event, its registry change and one pending delivery per subscribed, enabled
/// endpoint in one transaction, then answers 202.
#[utoipa::path(post, path = "/api/v1/events", request_body = EventBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats within 24 h return the first reply and create nothing.")),
    responses(
        (status = 202, description = "Accepted and committed", body = AcceptedReply),
        (status = 400, description = "Malformed JSON (with its line and column)", body = ErrorReply),
        (status = 401, description = "Missing or invalid API key", body = ErrorReply),
        (status = 404, description = "Unknown facial ID", body = ErrorReply),
        (status = 413, description = "Body over 64 KiB", body = ErrorReply),
        (status = 422, description = "Invalid field (named in `field`)", body = ErrorReply),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorReply)),
    security(("api_key" = [])))]
async fn post_event(State(state): State<AppState>, app: ApiApp, request: ApiRequest) -> Response {
    let input = request.json::<EventBody>().and_then(|body| {
        let details = parse_details(body.details)?;
        Ok(EventInput {
            gender: details.gender,
            age: details.age,
            payload: payload_text(body.payload),
            pincode: body.pincode,
            ..EventInput::new(
                parse_event_name(&body.event_name)?,
                body.facial_id,
                parse_client_ip(Some(&body.client_ip), request.peer_ip)?,
            )
        })
    });
    submit(&state, &app, &request, input).await
}

/// Replace a facial ID's linked payload (emits `payload_update`)
#[utoipa::path(put, path = "/api/v1/facial-ids/{facialId}/payload", request_body = PayloadBody,
    params(("facialId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = AcceptedReply), (status = 404, body = ErrorReply), (status = 422, body = ErrorReply)),
    security(("api_key" = [])))]
async fn put_payload(
    State(state): State<AppState>,
    app: ApiApp,
    Path(facial_id): Path<String>,
    request: ApiRequest,
) -> Response {
    let input = request.json::<PayloadBody>().and_then(|body| {
        let client_ip = parse_client_ip(body.client_ip.as_deref(), request.peer_ip)?;
        Ok(EventInput {
            payload: payload_text(Some(body.payload)),
            ..EventInput::new(EventKind::PayloadUpdate, Some(facial_id), client_ip)
        })
    });
    submit(&state, &app, &request, input).await
}

/// Set a facial ID's PIN code (emits `pincode_update`; the PIN is never sent anywhere)
#[utoipa::path(put, path = "/api/v1/facial-ids/{facialId}/pincode", request_body = PincodeBody,
    params(("facialId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = AcceptedReply), (status = 404, body = ErrorReply), (status = 422, body = ErrorReply)),
    security(("api_key" = [])))]
async fn put_pincode(
    State(state): State<AppState>,
    app: ApiApp,
    Path(facial_id): Path<String>,
    request: ApiRequest,
) -> Response {
    let input = request.json::<PincodeBody>().and_then(|body| {
        let client_ip = parse_client_ip(body.client_ip.as_deref(), request.peer_ip)?;
        Ok(EventInput {
            pincode: Some(body.pincode),
            ..EventInput::new(EventKind::PincodeUpdate, Some(facial_id), client_ip)
        })
    });
    submit(&state, &app, &request, input).await
}

/// Delete a facial ID and its payload (emits `deletion`)
#[utoipa::path(delete, path = "/api/v1/facial-ids/{facialId}",
    params(("facialId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = AcceptedReply), (status = 404, body = ErrorReply)),
    security(("api_key" = [])))]
async fn delete_facial_id(
    State(state): State<AppState>,
    app: ApiApp,
    Path(facial_id): Path<String>,
    request: ApiRequest,
) -> Response {
    let input = EventInput::new(EventKind::Deletion, Some(facial_id), request.peer_ip);
    submit(&state, &app, &request, Ok(input)).await
}

/// Look up a facial ID
#[utoipa::path(get, path = "/api/v1/facial-ids/{facialId}", params(("facialId" = String, Path)),
    responses((status = 200, body = FacialIdReply), (status = 401, body = ErrorReply), (status = 404, body = ErrorReply)),
    security(("api_key" = [])))]
async fn get_facial_id(
    State(state): State<AppState>,
    app: ApiApp,
    Path(facial_id): Path<String>,
) -> Result<Json<FacialIdReply>, ApiError> {
    let record = state.ingest.facial_id(&app.id, &facial_id).await?;
    Ok(Json(facial_id_body(record)))
}

fn facial_id_body(record: FacialIdRecord) -> FacialIdReply {
    let payload = record
        .payload
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or(Value::Null);
    FacialIdReply {
        facial_id: record.facial_id,
        enrolled: true,
        enrolled_at: rfc3339(record.enrolled_at),
        last_authentication_at: record.last_auth_at.map(rfc3339),
        gender: record.gender,
        age: record.age,
        payload,
    }
}
