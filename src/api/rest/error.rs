//! The REST API's one error shape: `{"error": {"code", "message", "field"?}}` with a fitting
//! status. Internal causes are logged under a reference and never sent.

use crate::model::AppError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::Duration;

/// Every error reply: `{"error": {"code", "message", "field"?}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorReply {
    error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_field`, `not_found`, `rate_limited`.
    code: String,
    /// What went wrong, for people.
    message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing or invalid API key; send Authorization: Bearer <application API key>.",
        )
    }

    pub fn unauthorized_token() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing, revoked or expired token; send Authorization: Bearer <organization API token>.",
        )
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests for this API key; retry after the Retry-After seconds.",
            )
        }
    }

    /// A body that is not JSON (400, with the position) or not the expected shape (422).
    pub fn from_json(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Data => {
                let text = err.to_string();
                let field = ["unknown field `", "missing field `"]
                    .iter()
                    .find_map(|marker| text.split(marker).nth(1))
                    .and_then(|rest| rest.split('`').next())
                    .unwrap_or("body")
                    .to_owned();
                ApiError::invalid(&field, text)
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!(
                    "The body is not valid JSON (line {}, column {}): {err}",
                    err.line(),
                    err.column()
                ),
            ),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Invalid { field, message } => ApiError::invalid(&camel_case(&field), message),
            AppError::Conflict { field, message } => ApiError {
                field: Some(camel_case(&field)),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", message)
            },
            AppError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found."),
            AppError::Limited {
                field,
                message,
                retry_after_secs,
            } => ApiError {
                field: Some(camel_case(&field)),
                retry_after: Some(Duration::from_secs(retry_after_secs)),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit_reached", message)
            },
            AppError::Unauthenticated | AppError::BadCredentials => ApiError::unauthorized(),
            other => {
                let status = StatusCode::from_u16(other.status_code())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let code = match &other {
                    AppError::Unavailable => "unavailable",
                    AppError::Busy => "busy",
                    AppError::Forbidden { .. } => "forbidden",
                    _ if status.is_server_error() => "internal",
                    _ => "refused",
                };
                ApiError {
                    retry_after: other.retry_after_secs().map(Duration::from_secs),
                    ..ApiError::new(status, code, other.to_string())
                }
            }
        }
    }
}

/// The service layer names fields as the console's forms do (`include_payload`); the JSON
/// API's bodies spell them `includePayload`.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl ApiError {
    /// The reply body this error is sent with.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!(ErrorReply {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reply = ErrorReply {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(reply)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
