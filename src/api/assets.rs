//! How the site's files and pages are sent: built files from `/pkg` (hashed, precompressed) and
//! the cache rule for pages. Which names and rules apply is `server::assets`'s business.

use crate::server::assets::{PRIVATE, REVALIDATE};
use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The console's session cookie (`startup`): a request carrying it may see secrets.
pub const SESSION_COOKIE: &str = "facehook_session";

/// `/pkg/…`: the built CSS, JS and wasm, sent as the brotli or gzip copy the build wrote when
/// the browser accepts it. Hashed names are cached for a year; a missing file is not.
pub fn pkg_service(state: &AppState) -> Router {
    let dir = std::path::Path::new(state.leptos_options.site_root.as_ref()).join("pkg");
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    // Shared caches must keep the brotli, gzip and plain answers apart.
    let vary = SetResponseHeaderLayer::if_not_present(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    Router::new()
        .fallback_service(vary.layer(files))
        .layer(from_fn_with_state(
            state.assets.pkg_cache_control(),
            cache_found_files,
        ))
}

async fn cache_found_files(
    State(cache_control): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
    }
    response
}

/// Pages are rendered per request: a browser may keep a public page but must ask before reusing
/// it; a signed-in page (it may show a secret just revealed) is never stored.
pub async fn revalidate_pages(request: Request, next: Next) -> Response {
    let signed_in = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|cookies| cookies.contains(SESSION_COOKIE));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        let rule = if signed_in { PRIVATE } else { REVALIDATE };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(rule));
    }
    response
}
