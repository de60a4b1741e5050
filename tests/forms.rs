//! Plain form posts (how every console form is sent): Post/Redirect/Get to a clean address,
//! the error and the user's input back on the page once, secrets never kept; on SQLite and
//! PostgreSQL.

mod common;

use common::console::{app_with_endpoint, owner, PASSWORD};
use common::{location, spawn_app, Backend, TestApp};

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client
        .get(app.url(path))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("page body")
}

async fn a_failed_post_returns_to_a_clean_address_with_the_input(backend: Backend) {
    let app = spawn_app(backend).await;
    owner(&app, "kept@example.com").await;
    let visitor = common::new_client();

    let failed = app
        .post_plain_form_with(
            &visitor,
            "sign_in",
            "/login?next=%2Faccount",
            &[
                ("email", "kept@example.com"),
                ("password", "not the password"),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(failed.status(), 303);
    assert_eq!(location(&failed), "/login?next=%2Faccount");

    let html = page(&app, &visitor, "/login?next=%2Faccount").await;
    assert!(html.contains("Email or password is incorrect."), "{html}");
    assert!(html.contains(r#"value="kept@example.com""#), "{html}");
    assert!(!html.contains("not the password"));

    // Shown once: the next visit is a fresh form.
    let again = page(&app, &visitor, "/login").await;
    assert!(!again.contains("Email or password is incorrect."));
    assert!(!again.contains("kept@example.com"));

    let signed_in = app
        .post_plain_form_with(
            &visitor,
            "sign_in",
            "/login?next=%2Faccount",
            &[
                ("email", "kept@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(location(&signed_in), "/account");
}

async fn an_endpoint_error_stays_with_the_form_that_was_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "forms@example.com").await;
    let (public_id, endpoint_id) = app_with_endpoint(&app, &alice, "Forms").await;
    let webhooks = format!("/apps/{public_id}/webhooks");

    let failed = app
        .post_plain_form_with(
            &alice,
            "save_endpoint",
            &webhooks,
            &[
                ("public_id", &public_id),
                ("form_id", "new"),
                ("url", "ftp://example.com/typed-by-hand"),
                ("description", "Typed by hand"),
                ("events_mode", "all"),
                ("timeout_secs", "6"),
            ],
        )
        .await;
    assert_eq!(failed.status(), 303);
    assert_eq!(location(&failed), webhooks);

    let html = page(&app, &alice, &webhooks).await;
    assert!(html.contains(r#"value="ftp://example.com/typed-by-hand""#));
    assert!(html.contains(r#"value="Typed by hand""#));
    // The error is shown once, in the add form, and the saved endpoint keeps its own URL.
    assert_eq!(
        html.matches("Only http and https URLs are accepted")
            .count(),
        1
    );
    assert!(html.contains(r#"value="https://example.com/hook""#));
    let saved_form = html
        .split(&format!(r#"name="form_id" value="{endpoint_id}""#))
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the saved endpoint's form");
    assert!(saved_form.contains(r#"value="https://example.com/hook""#));
    assert!(!saved_form.contains("ftp://"));
}

async fn a_successful_post_redirects_with_see_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "created@example.com").await;
    let created = app
        .post_plain_form_with(&alice, "create_app", "/apps", &[("name", "By form")])
        .await;
    assert_eq!(created.status(), 303);
    let to = location(&created);
    assert!(to.starts_with("/apps/fio"), "{to}");
    assert!(!to.contains("__"), "{to}");
    let html = page(&app, &alice, &to).await;
    assert!(html.contains("By form"));
}

on_both_backends!(
    a_failed_post_returns_to_a_clean_address_with_the_input,
    an_endpoint_error_stays_with_the_form_that_was_sent,
    a_successful_post_redirects_with_see_other
);
