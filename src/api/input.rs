//! Text the server cannot store or no field of ours means: a NUL character. PostgreSQL refuses
//! it in text, so it is found at the boundary and refused naming its field, on both backends.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The largest console request body read (a form post is a few kilobytes).
const MAX_CONSOLE_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The first request field whose text holds a NUL; server functions refuse the request
/// with it (`RequestContext::load`).
#[derive(Clone, Debug)]
pub struct NulField(pub String);

impl NulField {
    pub fn message(&self) -> String {
        format!("{} must not contain NUL characters.", self.0)
    }
}

/// Marks console requests (pages and server functions) whose query or form or JSON body holds
/// a NUL. The REST API checks its own JSON bodies (`ApiRequest::json`).
pub async fn mark_nul_input(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let mut found = request
        .uri()
        .query()
        .and_then(|query| nul_in_form(query.as_bytes()));
    let (mut parts, body) = request.into_parts();
    let body = match body_kind(&parts.headers) {
        None => body,
        Some(kind) => {
            let Ok(bytes) = to_bytes(body, MAX_CONSOLE_BODY_BYTES).await else {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is larger than 2 MiB.",
                )
                    .into_response();
            };
            found = found.or_else(|| match kind {
                BodyKind::Form => nul_in_form(&bytes),
                BodyKind::Json => nul_in_json(&bytes, &[]),
            });
            Body::from(bytes)
        }
    };
    if let Some(field) = found {
        parts.extensions.insert(NulField(field));
    }
    next.run(Request::from_parts(parts, body)).await
}

enum BodyKind {
    Form,
    Json,
}

fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// The name of the first form field (or the field whose name) holds a NUL.
pub fn nul_in_form(encoded: &[u8]) -> Option<String> {
    if !encoded.contains(&0) && !contains(encoded, b"%00") {
        return None;
    }
    url::form_urlencoded::parse(encoded)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', ""))
}

/// The path (`details.gender`, `items[2]`) of the first JSON string holding a NUL, outside
/// the top-level fields named in `opaque` (JSON the server keeps as JSON text, where a NUL
/// stays an escape and is stored like any other character).
pub fn nul_in_json(body: &[u8], opaque: &[&str]) -> Option<String> {
    if !contains(body, b"\\u0000") {
        return None;
    }
    let mut value: Value = serde_json::from_slice(body).ok()?;
    if let Some(fields) = value.as_object_mut() {
        fields.retain(|name, _| !opaque.contains(&name.as_str()));
    }
    let mut path = String::new();
    nul_path(&value, &mut path).then_some(path)
}

fn nul_path(value: &Value, path: &mut String) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = nul_path(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(fields) => fields.iter().any(|(name, field)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&name.replace('\0', ""));
            let found = name.contains('\0') || nul_path(field, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_with_nul_are_named() {
        assert_eq!(
            nul_in_form(b"email=a%40b.c&description=x%00y"),
            Some("description".into())
        );
        assert_eq!(nul_in_form(b"email=a%40b.c&description=x"), None);
        assert_eq!(nul_in_form(b"search=%00"), Some("search".into()));
    }

    #[test]
    fn json_paths_with_nul_are_named() {
        let body = br#"{"eventName":"enroll","details":{"gender":"m\u0000"}}"#;
        assert_eq!(nul_in_json(body, &[]), Some("details.gender".into()));
        let body = br#"{"payload":{"tags":["a","b\u0000"]}}"#;
        assert_eq!(nul_in_json(body, &[]), Some("payload.tags[1]".into()));
        assert_eq!(nul_in_json(body, &["payload"]), None);
        assert_eq!(nul_in_json(br#"{"a":"\\u0000 is text"}"#, &[]), None);
        assert_eq!(nul_in_json(br#"{"a":"b"}"#, &[]), None);
    }
}
