//! How the site's files and pages travel, on SQLite and PostgreSQL: hashed files as the brotli
//! or gzip copy the build wrote (or as they are) with a year-long immutable cache, pages and
//! JSON compressed on the fly and revalidated, the live feed never compressed.

mod common;

use common::console::{create_app, owner};
use common::{spawn_app_with, Backend, TestApp};
use std::path::Path;
use std::time::Duration;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A built site as `make build` leaves it: hashed names, a `.br` and a `.gz` beside each file
/// (their content is whatever the build wrote; here, markers), and `hash.txt`.
fn write_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("create pkg");
    for (name, content) in [
        (
            "facehook.Jh4s.js",
            "export function hydrate() {}\n".repeat(40),
        ),
        ("facehook.Wq9z.wasm", "\0asm".repeat(200)),
        ("facehook.Cs5e.css", "body { margin: 0 }\n".repeat(40)),
    ] {
        std::fs::write(pkg.join(name), &content).expect("write file");
        std::fs::write(pkg.join(format!("{name}.br")), format!("br:{name}")).expect("write br");
        std::fs::write(pkg.join(format!("{name}.gz")), format!("gz:{name}")).expect("write gz");
    }
    std::fs::write(root.join("hash.txt"), "js: Jh4s\nwasm: Wq9z\ncss: Cs5e\n").expect("hash.txt");
}

async fn site_app(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let site = tempfile::tempdir().expect("site dir");
    write_site(site.path());
    let root = site.path().to_path_buf();
    let app = spawn_app_with(backend, move |config| config.site_dir = Some(root)).await;
    (app, site)
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(encodings) = accept_encoding {
        request = request.header("Accept-Encoding", encodings);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII header").to_owned())
}

async fn hashed_files_are_negotiated_and_immutable(backend: Backend) {
    let (app, _site) = site_app(backend).await;
    let wasm = "/pkg/facehook.Wq9z.wasm";

    let br = get(&app, wasm, Some("gzip, deflate, br")).await;
    assert_eq!(br.status(), 200);
    assert_eq!(header(&br, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&br, "cache-control").as_deref(), Some(IMMUTABLE));
    assert_eq!(
        header(&br, "content-type").as_deref(),
        Some("application/wasm")
    );
    assert!(header(&br, "vary").is_some_and(|v| v.to_lowercase().contains("accept-encoding")));
    assert_eq!(br.text().await.unwrap(), "br:facehook.Wq9z.wasm");

    let gzip = get(&app, wasm, Some("gzip")).await;
    assert_eq!(header(&gzip, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&gzip, "cache-control").as_deref(), Some(IMMUTABLE));
    assert_eq!(gzip.text().await.unwrap(), "gz:facehook.Wq9z.wasm");

    let identity = get(&app, wasm, None).await;
    assert_eq!(header(&identity, "content-encoding"), None);
    assert_eq!(
        header(&identity, "cache-control").as_deref(),
        Some(IMMUTABLE)
    );
    assert_eq!(identity.bytes().await.unwrap().len(), 800);

    let css = get(&app, "/pkg/facehook.Cs5e.css", Some("br")).await;
    assert_eq!(header(&css, "content-encoding").as_deref(), Some("br"));
    assert!(header(&css, "content-type").is_some_and(|t| t.starts_with("text/css")));

    // A missing file is not cached: it may exist after the next deploy.
    let missing = get(&app, "/pkg/facehook.nope.js", Some("br")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "cache-control"), None);
}

async fn pages_name_the_hashed_files_and_are_compressed(backend: Backend) {
    let (app, _site) = site_app(backend).await;

    let plain = get(&app, "/login", None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header(&plain, "content-encoding"), None);
    let html = plain.text().await.unwrap();
    for name in [
        "facehook.Jh4s.js",
        "facehook.Wq9z.wasm",
        "facehook.Cs5e.css",
    ] {
        assert!(
            html.contains(&format!("/pkg/{name}")),
            "{name} missing from {html}"
        );
    }

    for encoding in ["br", "gzip"] {
        let page = get(&app, "/login", Some(encoding)).await;
        assert_eq!(header(&page, "content-encoding").as_deref(), Some(encoding));
        assert_eq!(header(&page, "cache-control").as_deref(), Some("no-cache"));
        let body = page.bytes().await.unwrap();
        assert!(
            body.len() < html.len() / 2,
            "{encoding}: {} of {}",
            body.len(),
            html.len()
        );
    }

    // The API reference page and the OpenAPI document are compressed too.
    let reference = get(&app, "/api/v1/docs", None).await;
    assert!(reference
        .text()
        .await
        .unwrap()
        .contains("/pkg/facehook.Cs5e.css"));
    let openapi = get(&app, "/api/v1/openapi.json", Some("br")).await;
    assert_eq!(openapi.status(), 200);
    assert_eq!(header(&openapi, "content-encoding").as_deref(), Some("br"));
}

async fn the_live_feed_is_never_compressed(backend: Backend) {
    let (app, _site) = site_app(backend).await;
    let client = owner(&app, "live@example.com").await;
    let public_id = create_app(&app, &client, "Live").await;
    let mut feed = client
        .get(app.url(&format!("/apps/{public_id}/live")))
        .header("Accept-Encoding", "br, gzip")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("open the feed");
    assert_eq!(feed.status(), 200);
    assert_eq!(header(&feed, "content-encoding"), None);
    assert!(header(&feed, "content-type").is_some_and(|t| t.starts_with("text/event-stream")));
    // The first event arrives as plain text at once, not held back by a compressor's buffer.
    let first = tokio::time::timeout(Duration::from_secs(10), feed.chunk())
        .await
        .expect("an event within 10 s")
        .expect("read the feed")
        .expect("the feed stays open");
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));
}

on_both_backends!(
    hashed_files_are_negotiated_and_immutable,
    pages_name_the_hashed_files_and_are_compressed,
    the_live_feed_is_never_compressed
);
