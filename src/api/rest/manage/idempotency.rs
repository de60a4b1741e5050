//! `Idempotency-Key` for the management API's POSTs, kept per token: a repeat gets the first
//! reply, a reply holding a secret is never written down.

use super::{ApiError, ApiRequest};
use crate::server::orgs::Member;
use crate::server::state::AppState;
use crate::server::store::KeyState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// Whether a POST's reply carries a secret (a new API key, token or invitation link), which
/// is never written to the database: a repeat of it is told the secret was shown once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Reply {
    Plain,
    HoldsSecret,
}

/// Runs a state-changing POST once per `Idempotency-Key`: a repeat gets the first reply
/// (with `Idempotent-Replayed: true`), a repeat while the first still runs gets 409, and a
/// request that failed leaves the key free for a retry. (The whole request runs as its own
/// task, see `audit_every_request`, so a client that hangs up cannot leave a key half kept.)
pub(super) async fn once<F>(
    state: &AppState,
    member: &Member,
    request: &ApiRequest,
    kind: Reply,
    run: F,
) -> Response
where
    F: std::future::Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = request.idempotency_key.clone() else {
        return reply(run.await);
    };
    let token_id = member.actor.id.recorded().unwrap_or_default().to_owned();
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
pub(super) async fn reserve(
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

pub(super) fn conflict(same_request: bool, running: &str) -> Response {
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

pub(super) fn reply(result: Result<(StatusCode, Value), ApiError>) -> Response {
    match result {
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// A reply body as JSON.
pub(super) fn json<T: serde::Serialize>(
    status: StatusCode,
    body: T,
) -> Result<(StatusCode, Value), ApiError> {
    serde_json::to_value(body)
        .map(|value| (status, value))
        .map_err(|err| ApiError::from(crate::server::error::internal(err)))
}
