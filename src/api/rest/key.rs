//! API-key authentication and per-key rate limiting for the REST API.

use super::ApiError;
use crate::model::ids::AppId;
use crate::server::ingest::RateDecision;
use crate::server::secrets::hash_api_key;
use crate::server::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The credential in `Authorization: Bearer …`, if one is there.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The application whose API key authenticated the request.
pub struct ApiApp {
    pub id: AppId,
}

impl FromRequestParts<AppState> for ApiApp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        // The same answer for a malformed, unknown or revoked key: nothing about which apps exist.
        let app = state
            .store
            .app_by_api_key_hash(&hash_api_key(key))
            .await
            .map_err(|e| ApiError::from(crate::model::AppError::from(e)))?
            .ok_or_else(ApiError::unauthorized)?;
        match state.rate_limiter.check(app.id.as_str()) {
            RateDecision::Allowed => Ok(ApiApp { id: app.id }),
            RateDecision::Limited { retry_after } => Err(ApiError::rate_limited(retry_after)),
        }
    }
}
