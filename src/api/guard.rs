//! Request guards: refuse cross-site state changes, and send signed-out visitors of console
//! pages to the sign-in form. Both run before any page or server function.

use super::context::{peer_ip, session_account};
use crate::model::requires_sign_in;
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// A signed-out visitor (or one whose session was revoked, expired or ended by a password
/// change) asking for a console page is sent to sign in, and back after.
pub async fn require_sign_in(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if request.method() == Method::GET && requires_sign_in(path) {
        let client_ip = peer_ip(Some(request.extensions()));
        // A database failure is not a sign-out: the page itself reports it.
        let signed_in = session_account(&state, &session, &client_ip)
            .await
            .map_or(true, |account| account.is_some());
        if !signed_in {
            let target = request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or(path);
            let location = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
            );
            return Redirect::to(&location).into_response();
        }
    }
    next.run(request).await
}

/// Browsers label every request with where it came from (`Sec-Fetch-Site`, `Origin`); a
/// state-changing request from another site is refused. Requests with neither header do not
/// come from a browser, so they cannot carry a victim's cookies on another site's behalf.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // The REST API authenticates with a bearer key, never a cookie, so another site's page
    // cannot make a browser send a credential to it.
    let bearer_api = request.uri().path().starts_with("/api/v1/");
    if !safe_method
        && !bearer_api
        && !is_same_origin(request.headers(), state.config.public_url.as_ref())
    {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_same_origin(headers: &HeaderMap, public_url: Option<&url::Url>) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false; // includes the opaque "null" origin
    };
    match public_url {
        Some(public) => origin.origin() == public.origin(),
        None => {
            let origin_authority = match origin.port() {
                Some(port) => format!("{}:{port}", origin.host_str().unwrap_or_default()),
                None => origin.host_str().unwrap_or_default().to_owned(),
            };
            text(header::HOST.as_str())
                .is_some_and(|host| host.eq_ignore_ascii_case(&origin_authority))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_host_origin_is_accepted() {
        let h = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(is_same_origin(&h, None));
    }

    #[test]
    fn other_origins_and_sites_are_refused() {
        let h = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!is_same_origin(&h, None));
        let h = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(!is_same_origin(&h, None));
        let h = headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")]);
        assert!(!is_same_origin(&h, None));
    }

    #[test]
    fn public_url_is_the_expected_origin_behind_a_proxy() {
        let public = url::Url::parse("https://console.example.com").ok();
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://console.example.com"),
        ]);
        assert!(is_same_origin(&h, public.as_ref()));
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "http://console.example.com"),
        ]);
        assert!(!is_same_origin(&h, public.as_ref()));
    }
}
