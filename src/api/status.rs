//! Gives server-function errors the HTTP status that fits them. The framework answers every
//! error with 500; a raw client (scripts, tests, monitoring) should see 401, 422, 429 or 503
//! instead, with `Retry-After` where the error says when to retry.

use crate::model::AppError;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Error bodies are a small JSON enum; anything larger is not one of ours.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_server_fn_error = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.headers().contains_key("serverfnerror");
    if !is_server_fn_error {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = error.retry_after_secs() {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
