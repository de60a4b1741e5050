//! How the site's files and pages are sent: built files from `/pkg` (hashed, precompressed) and
//! the cache rule for pages. Which names and rules apply is `server::assets`'s business.

use crate::server::assets::REVALIDATE;
use crate::server::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

/// `/pkg/…`: the built CSS, JS and wasm, sent as the brotli or gzip copy the build wrote when
/// the browser accepts it. Hashed names are cached for a year.
pub fn pkg_service(
    state: &AppState,
) -> SetResponseHeader<SetResponseHeader<ServeDir, HeaderValue>, HeaderValue> {
    let dir = std::path::Path::new(state.leptos_options.site_root.as_ref()).join("pkg");
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let cache = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static(state.assets.pkg_cache_control()),
    );
    // Shared caches must keep the brotli, gzip and plain answers apart.
    let vary = SetResponseHeaderLayer::if_not_present(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    cache.layer(vary.layer(files))
}

/// Pages are rendered per request: a browser may keep one but must ask before reusing it.
pub async fn revalidate_pages(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    }
    response
}
