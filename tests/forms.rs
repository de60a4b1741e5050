//! Plain form posts (how every console form is sent): Post/Redirect/Get to a clean address,
//! the error and the user's input back on the page once, secrets never kept; on SQLite and
//! PostgreSQL.

mod common;

use common::console::{app_with_endpoint, json, owner, save_endpoint, PASSWORD};
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
                ("events_mode", "selected"),
                ("events[1]", "auth"),
                ("timeout_secs", "6"),
            ],
        )
        .await;
    assert_eq!(failed.status(), 303);
    assert_eq!(location(&failed), webhooks);

    let html = page(&app, &alice, &webhooks).await;
    assert!(html.contains(r#"value="ftp://example.com/typed-by-hand""#));
    assert!(html.contains(r#"value="Typed by hand""#));
    // The boxes too: only "auth" of the five, "Only these", and no longer enabled.
    let add_form = html
        .split(r#"name="form_id" value="new""#)
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the add form");
    assert_eq!(add_form.matches("checked").count(), 2, "{add_form}");
    assert!(
        add_form.contains(r#"name="events[1]" value="auth" checked"#),
        "{add_form}"
    );
    assert!(
        add_form.contains(r#"value="selected" checked"#),
        "{add_form}"
    );
    // The error is shown once, in the add form; the list still names the saved endpoint.
    assert_eq!(
        html.matches("Only http and https URLs are accepted")
            .count(),
        1
    );
    assert!(html.contains("https://example.com/hook"));

    // On the endpoint's own page, a failed save gives back what was typed into its form.
    let endpoint_page = format!("{webhooks}/{endpoint_id}");
    let failed = app
        .post_plain_form_with(
            &alice,
            "save_endpoint",
            &endpoint_page,
            &[
                ("public_id", &public_id),
                ("endpoint_id", &endpoint_id),
                ("form_id", &endpoint_id),
                ("url", "ftp://example.com/edited"),
                ("events_mode", "all"),
                ("timeout_secs", "6"),
            ],
        )
        .await;
    assert_eq!(location(&failed), endpoint_page);
    let html = page(&app, &alice, &endpoint_page).await;
    let saved_form = html
        .split(&format!(r#"name="form_id" value="{endpoint_id}""#))
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the saved endpoint's form");
    assert!(saved_form.contains(r#"value="ftp://example.com/edited""#));
    assert_eq!(
        html.matches("Only http and https URLs are accepted")
            .count(),
        1
    );
    // Nothing was saved: the next visit shows the stored URL again.
    let html = page(&app, &alice, &endpoint_page).await;
    assert!(html.contains(r#"value="https://example.com/hook""#));
    assert!(!html.contains("ftp://"));
}

async fn a_failed_test_event_shows_on_its_own_card_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "cards@example.com").await;
    let (public_id, first) = app_with_endpoint(&app, &alice, "Cards").await;
    let second = save_endpoint(
        &app,
        &alice,
        &public_id,
        &[("url", "https://example.org/other")],
    )
    .await;
    assert_eq!(second.status(), 200);
    let second = json(second).await["id"].as_str().unwrap().to_owned();
    let first_page = format!("/apps/{public_id}/webhooks/{first}");
    let second_page = format!("/apps/{public_id}/webhooks/{second}");

    // Sent from the first endpoint's page, refused (the endpoint is not this application's).
    let refused = app
        .post_plain_form_with(
            &alice,
            "send_test_event",
            &first_page,
            &[
                ("public_id", "fio00000000"),
                ("endpoint_id", &first),
                ("form_id", &format!("test-{first}")),
            ],
        )
        .await;
    assert_eq!(refused.status(), 303);
    assert_eq!(location(&refused), first_page);
    let html = page(&app, &alice, &first_page).await;
    assert_eq!(
        html.matches(r#"data-testid="test-result""#).count(),
        1,
        "{html}"
    );
    assert!(html.contains("Not found."));
    let html = page(&app, &alice, &second_page).await;
    assert_eq!(html.matches(r#"data-testid="test-result""#).count(), 0);
}

async fn a_live_redraw_takes_no_one_time_notice(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "redraw@example.com").await;
    let (public_id, _) = app_with_endpoint(&app, &alice, "Redraw").await;
    let webhooks = format!("/apps/{public_id}/webhooks");
    let saved = app
        .post_plain_form_with(
            &alice,
            "save_endpoint",
            &webhooks,
            &[
                ("public_id", &public_id),
                ("url", "https://example.net/added"),
                ("events_mode", "all"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);

    // The deliveries page's live feed redraws it: the notice waits for the next real page.
    let redraw = alice
        .get(app.url(&format!("/apps/{public_id}/deliveries")))
        .header("Accept", "text/html")
        .header("facehook-live-redraw", "1")
        .send()
        .await
        .expect("redraw");
    assert!(!redraw.text().await.unwrap().contains("Endpoint added."));
    // A new endpoint opens on its own page, with the notice.
    let added = location(&saved);
    assert!(added.starts_with(&format!("{webhooks}/ep_")), "{added}");
    assert!(page(&app, &alice, &added).await.contains("Endpoint added."));
}

async fn every_action_says_what_it_did(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "statuses@example.com").await;
    let (public_id, endpoint_id) = app_with_endpoint(&app, &alice, "Statuses").await;
    let overview = format!("/apps/{public_id}");
    let webhooks = format!("{overview}/webhooks");
    let app_id = [("public_id", public_id.as_str())];
    let app_endpoint = [
        ("public_id", public_id.as_str()),
        ("endpoint_id", endpoint_id.as_str()),
    ];

    let renamed = app
        .post_plain_form_with(
            &alice,
            "rename_app",
            &overview,
            &[("public_id", &public_id), ("name", "Renamed")],
        )
        .await;
    assert_eq!(location(&renamed), overview);
    assert!(page(&app, &alice, &overview)
        .await
        .contains("Application renamed."));

    // A rotation lands on the page that shows the new value.
    let token = app
        .post_plain_form_with(&alice, "rotate_webhook_token", &webhooks, &app_id)
        .await;
    assert_eq!(location(&token), format!("{webhooks}?reveal=token"));
    let html = page(&app, &alice, &location(&token)).await;
    assert!(html.contains("Webhook token rotated"));
    assert!(
        html.contains(r#"data-testid="webhook-token" class="secret">fhw_"#),
        "{html}"
    );

    let secret = app
        .post_plain_form_with(&alice, "rotate_signing_secret", &webhooks, &app_endpoint)
        .await;
    assert_eq!(
        location(&secret),
        format!("{webhooks}/{endpoint_id}?reveal=secret")
    );
    let html = page(&app, &alice, &location(&secret)).await;
    assert!(html.contains("Signing secret rotated"));
    assert!(html.contains(r#"data-testid="previous-secret""#));

    let deleted = app
        .post_plain_form_with(&alice, "delete_endpoint", &webhooks, &app_endpoint)
        .await;
    assert_eq!(location(&deleted), webhooks);
    let html = page(&app, &alice, &webhooks).await;
    assert!(html.contains("Endpoint deleted."));
    assert!(!html.contains(&endpoint_id));
}

async fn pages_with_secrets_are_never_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "nostore@example.com").await;
    let (public_id, _) = app_with_endpoint(&app, &alice, "No store").await;
    let revealed = alice
        .get(app.url(&format!("/apps/{public_id}/webhooks?reveal=token")))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(revealed.status(), 200);
    assert_eq!(revealed.headers()["cache-control"], "private, no-store");
    let public = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("page");
    assert_eq!(public.headers()["cache-control"], "no-cache");
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
    a_successful_post_redirects_with_see_other,
    a_failed_test_event_shows_on_its_own_card_only,
    pages_with_secrets_are_never_stored,
    a_live_redraw_takes_no_one_time_notice,
    every_action_says_what_it_did
);
