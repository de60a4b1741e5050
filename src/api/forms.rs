//! Post/Redirect/Get for the console's plain form posts (every form: pages are server-rendered).
//!
//! The framework answers a failed form post by redirecting back with the error in the address
//! (`?__path=…&__err=…`), and what the user typed is gone. Here the error and the fields (never
//! passwords or secrets) move into the session instead, the redirect goes to the clean address
//! with 303 See Other, and the next page shows the error beside the user's own input.

use crate::model::form::{RetainedForm, FORM_ID_FIELD};
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::prelude::{provide_context, use_context};
use leptos::server::ServerActionError;
use tower_sessions::Session;

const RETAINED_FORM_KEY: &str = "retained_form";
/// Form posts are a few kilobytes; the console's body limit applies before this one.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// Longer values are not worth keeping: the user pasted something that is not an answer.
const MAX_RETAINED_VALUE_CHARS: usize = 4096;
/// What one failed form may keep in a session, whatever it sent (console forms are far smaller).
const MAX_RETAINED_FIELDS: usize = 64;
const MAX_RETAINED_BYTES: usize = 16 * 1024;

pub async fn post_redirect_get(session: Session, mut request: Request, next: Next) -> Response {
    if !accepts_html(request.headers()) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let is_server_function = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    if request.method() == Method::POST && is_server_function {
        return settle_form_post(session, request, next).await;
    }
    if request.method() == Method::GET && !path.starts_with("/api/") && !is_live_redraw(&request) {
        match session.remove::<RetainedForm>(RETAINED_FORM_KEY).await {
            Ok(Some(retained)) => {
                request.extensions_mut().insert(retained);
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not read a retained form"),
        }
    }
    next.run(request).await
}

async fn settle_form_post(session: Session, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than 2 MiB.",
        )
            .into_response();
    };
    let fields = retained_fields(&bytes);
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
    else {
        return response;
    };
    let (clean, failure) = split_error(location);
    if let Some((action, error)) = failure {
        let form = fields
            .iter()
            .find(|(name, _)| name == FORM_ID_FIELD)
            .map(|(_, value)| value.clone());
        let retained = RetainedForm {
            action,
            error,
            form,
            fields,
        };
        if let Err(err) = session.insert(RETAINED_FORM_KEY, retained).await {
            // The error still reaches the page through its address.
            tracing::warn!(error = %err, "could not keep a failed form in the session");
            return response;
        }
    }
    let Ok(clean) = HeaderValue::from_str(&clean) else {
        return response;
    };
    response.headers_mut().insert(header::LOCATION, clean);
    // The page is fetched with GET, whatever the status the framework chose.
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// Called while a page renders: a failed form's error reaches its `ServerAction` as if it were
/// in the address, and the form's fields reach the inputs.
pub fn provide_retained_form() {
    let retained =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<RetainedForm>().cloned());
    if let Some(retained) = retained {
        provide_context(ServerActionError::new(&retained.action, &retained.error));
        provide_context(retained);
    }
}

/// The live feed's redraw of a page the user already sees: it must not take one-time
/// notices or a failed form meant for the next page.
pub const LIVE_REDRAW_HEADER: &str = "facehook-live-redraw";

pub fn is_live_redraw(request: &Request) -> bool {
    request.headers().contains_key(LIVE_REDRAW_HEADER)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The fields worth giving back: not secrets, not the framework's, not NUL, not huge.
fn retained_fields(body: &[u8]) -> Vec<(String, String)> {
    let mut budget = MAX_RETAINED_BYTES;
    url::form_urlencoded::parse(body)
        .filter(|(name, value)| {
            let secret = ["password", "secret", "token", "code"]
                .iter()
                .any(|word| name.contains(word));
            !secret
                && !name.starts_with("__")
                && !value.contains('\0')
                && value.chars().count() <= MAX_RETAINED_VALUE_CHARS
        })
        .take(MAX_RETAINED_FIELDS)
        .take_while(|(name, value)| {
            let size = name.len() + value.len();
            budget = budget.saturating_sub(size);
            budget > 0
        })
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The redirect's same-site path and query without the framework's error parameters, and
/// those parameters (action path, encoded error) when both are there.
fn split_error(location: &str) -> (String, Option<(String, String)>) {
    // Relative locations are resolved against a placeholder origin; only path and query remain.
    let Ok(url) = url::Url::parse("http://console.invalid/").and_then(|base| base.join(location))
    else {
        return (location.to_owned(), None);
    };
    let mut action = None;
    let mut error = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut any_kept = false;
    // `__path` and `__err` are the framework's names for the failed action and its error.
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "__path" => action = Some(value.into_owned()),
            "__err" => error = Some(value.into_owned()),
            _ => {
                kept.append_pair(&name, &value);
                any_kept = true;
            }
        }
    }
    // Dot segments are gone now: `/.//evil.example` became `//evil.example`, which a browser
    // reads as another site. One leading slash keeps it on this one.
    let mut clean = format!("/{}", url.path().trim_start_matches('/'));
    if any_kept {
        clean.push('?');
        clean.push_str(&kept.finish());
    }
    (clean, action.zip(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_leaves_the_address_and_other_parameters_stay() {
        let (clean, failure) = split_error(
            "http://127.0.0.1:3107/login?next=%2Faccount&__path=%2Fapi%2Fsign_in&__err=IkJhZCI%3D",
        );
        assert_eq!(clean, "/login?next=%2Faccount");
        assert_eq!(
            failure,
            Some(("/api/sign_in".to_owned(), "IkJhZCI=".to_owned()))
        );
        assert_eq!(split_error("/apps").0, "/apps");
        assert_eq!(split_error("/apps").1, None);
    }

    #[test]
    fn a_location_never_leaves_the_site() {
        for sneaky in [
            "/.//evil.example/x",
            "/a/..//evil.example/x",
            "http://console.test//evil.example/x",
            "//evil.example/x",
            "https://evil.example/x",
        ] {
            let (clean, _) = split_error(sneaky);
            assert!(
                clean.starts_with('/') && !clean.starts_with("//"),
                "{sneaky} -> {clean}"
            );
        }
    }

    #[test]
    fn a_flood_of_fields_keeps_a_bounded_few() {
        let body: String = (0..1000)
            .map(|n| format!("f{n}={}&", "x".repeat(4000)))
            .collect();
        let fields = retained_fields(body.as_bytes());
        let bytes: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(fields.len() <= MAX_RETAINED_FIELDS && bytes <= MAX_RETAINED_BYTES);
        assert!(!fields.is_empty());
    }

    #[test]
    fn secrets_and_oddities_are_not_retained() {
        let fields = retained_fields(
            b"email=a%40b.c&password=hunter2&new_password=x&form_id=new&note=a%00b&__err=x",
        );
        assert_eq!(
            fields,
            vec![
                ("email".to_owned(), "a@b.c".to_owned()),
                ("form_id".to_owned(), "new".to_owned())
            ]
        );
    }
}
