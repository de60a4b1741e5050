//! Application Manager and WEBHOOKS tab through the real server, on SQLite and PostgreSQL.

mod common;

use common::console::{app_with_endpoint, create_app, error_field, json, owner, save_endpoint};
use common::{spawn_app, Backend};

async fn applications_are_created_listed_renamed_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;

    let public_id = create_app(&app, &alice, "Front door").await;
    assert!(
        public_id.starts_with("fio") && public_id.len() == 11,
        "{public_id}"
    );
    assert!(public_id[3..]
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));

    let list = json(app.call_with(&alice, "list_apps", &[]).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["public_id"], public_id.as_str());
    assert_eq!(list[0]["name"], "Front door");
    assert_eq!(list[0]["plan"], "free");
    assert_eq!(list[0]["endpoint_count"], 0);

    let (status, field, _) =
        error_field(app.call_with(&alice, "create_app", &[("name", "  ")]).await).await;
    assert_eq!((status, field.as_str()), (422, "name"));
    let long = "x".repeat(81);
    let (status, field, _) = error_field(
        app.call_with(&alice, "create_app", &[("name", &long)])
            .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "name"));

    let renamed = app
        .call_with(
            &alice,
            "rename_app",
            &[("public_id", &public_id), ("name", "Back door")],
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let detail = json(
        app.call_with(&alice, "get_app", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert_eq!(detail["name"], "Back door");

    save_endpoint(
        &app,
        &alice,
        &public_id,
        &[("url", "https://example.com/hook")],
    )
    .await;
    let (status, field, message) = error_field(
        app.call_with(
            &alice,
            "delete_app",
            &[("public_id", &public_id), ("confirmation", "Front door")],
        )
        .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "confirmation"));
    assert!(message.contains("Back door"), "{message}");

    let deleted = app
        .call_with(
            &alice,
            "delete_app",
            &[("public_id", &public_id), ("confirmation", "Back door")],
        )
        .await;
    assert_eq!(deleted.status(), 200);
    let gone = app
        .call_with(&alice, "get_app", &[("public_id", &public_id)])
        .await;
    assert_eq!(gone.status(), 404);
    let store = app.database.store().await;
    assert!(
        store
            .endpoints_of_app(&public_id.as_str().into())
            .await
            .unwrap()
            .is_empty(),
        "endpoints deleted with the app"
    );
}

async fn api_key_is_shown_once_and_only_its_hash_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let public_id = create_app(&app, &alice, "Kiosk").await;

    let first = json(
        app.call_with(&alice, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let key = first.as_str().expect("the key is shown once").to_owned();
    assert!(key.starts_with("fhk_live_"), "{key}");
    let again = json(
        app.call_with(&alice, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert!(again.is_null(), "never shown twice");

    let store = app.database.store().await;
    let stored = store
        .api_key_hash_of(&public_id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, facehook::server::secrets::hash_api_key(&key));
    assert!(!stored.contains(&key));
    let detail = json(
        app.call_with(&alice, "get_app", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let prefix = detail["api_key_prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix) && prefix.len() < key.len());

    let rotated = app
        .call_with(&alice, "rotate_api_key", &[("public_id", &public_id)])
        .await;
    assert_eq!(rotated.status(), 200);
    let new_key = json(
        app.call_with(&alice, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let new_key = new_key.as_str().unwrap();
    assert_ne!(new_key, key);
    assert_eq!(
        store
            .api_key_hash_of(&public_id.as_str().into())
            .await
            .unwrap()
            .unwrap(),
        facehook::server::secrets::hash_api_key(new_key)
    );
}

async fn endpoints_are_added_updated_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let public_id = create_app(&app, &alice, "Gate").await;

    let added = json(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("url", "https://[2606:4700::1111]:8443/hook"),
                ("description", "Primary"),
                ("events_mode", "selected"),
                ("events[0]", "enroll"),
                ("events[1]", "auth"),
                ("timeout_secs", "10"),
            ],
        )
        .await,
    )
    .await;
    let endpoint_id = added["id"].as_str().unwrap().to_owned();
    assert!(endpoint_id.starts_with("ep_"));
    assert_eq!(added["url"], "https://[2606:4700::1111]:8443/hook");
    assert_eq!(added["events"], serde_json::json!(["enroll", "auth"]));
    assert_eq!(added["timeout_secs"], 10);
    assert_eq!(added["enabled"], true);

    let updated = json(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("endpoint_id", &endpoint_id),
                ("url", "https://example.com/v2"),
                ("events_mode", "all"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(updated["url"], "https://example.com/v2");
    assert!(updated["events"].is_null(), "all events");
    assert_eq!(updated["timeout_secs"], 6, "default timeout");

    let (status, field, _) = error_field(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("url", "https://example.com/x"),
                ("events_mode", "selected"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "events"));
    // A kind the server does not know is named back, never dropped in silence.
    let (status, field, message) = error_field(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("url", "https://example.com/x"),
                ("events_mode", "selected"),
                ("events[0]", "auth"),
                ("events[1]", "enrol"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "events"));
    assert!(message.contains("\"enrol\""), "{message}");
    for timeout in ["0", "31", "abc"] {
        let (status, field, _) = error_field(
            save_endpoint(
                &app,
                &alice,
                &public_id,
                &[("url", "https://example.com/x"), ("timeout_secs", timeout)],
            )
            .await,
        )
        .await;
        assert_eq!((status, field.as_str()), (422, "timeout_secs"), "{timeout}");
    }

    let list = json(
        app.call_with(&alice, "list_endpoints", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "failed saves stored nothing"
    );

    let deleted = app
        .call_with(
            &alice,
            "delete_endpoint",
            &[("public_id", &public_id), ("endpoint_id", &endpoint_id)],
        )
        .await;
    assert_eq!(deleted.status(), 200);
    let list = json(
        app.call_with(&alice, "list_endpoints", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert!(list.as_array().unwrap().is_empty());
}

async fn each_url_rule_is_enforced_with_its_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let public_id = create_app(&app, &alice, "Rules").await;
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let cases = [
        ("", "Enter the URL"),
        ("ftp://example.com/hook", "Only http and https"),
        ("example.com/hook", "full URL"),
        ("https://", "needs a host"),
        ("https://:8443/hook", "needs a host"),
        (
            "https://user:secret@example.com/hook",
            "passwords in the URL",
        ),
        (long.as_str(), "too long"),
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://192.168.1.20/hook", "private"),
        ("http://[fd12::1]/hook", "private"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://localhost/hook", "loopback"),
    ];
    for (url, expected) in cases {
        let (status, field, message) =
            error_field(save_endpoint(&app, &alice, &public_id, &[("url", url)]).await).await;
        assert_eq!((status, field.as_str()), (422, "url"), "{url}");
        assert!(message.contains(expected), "{url}: {message}");
    }
    let list = json(
        app.call_with(&alice, "list_endpoints", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert!(list.as_array().unwrap().is_empty());
}

async fn payload_inclusion_is_gated_by_plan(backend: Backend) {
    let app = spawn_app(backend).await;
    let operator = owner(&app, "ops@example.com").await;
    let alice = owner(&app, "alice@example.com").await;
    let (public_id, endpoint_id) = app_with_endpoint(&app, &alice, "Plans").await;

    for plan in ["free", "premium", "business", "enterprise"] {
        let set = app
            .call_with(
                &operator,
                "set_app_plan",
                &[("public_id", &public_id), ("plan", plan)],
            )
            .await;
        assert_eq!(set.status(), 200, "{plan}");
        let response = save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("endpoint_id", &endpoint_id),
                ("url", "https://example.com/hook"),
                ("include_payload", "on"),
            ],
        )
        .await;
        if plan == "free" || plan == "premium" {
            let (status, field, message) = error_field(response).await;
            assert_eq!((status, field.as_str()), (422, "include_payload"), "{plan}");
            assert_eq!(message, "Available on the Business plan and up.");
            let added = save_endpoint(
                &app,
                &alice,
                &public_id,
                &[("url", "https://example.com/b"), ("include_payload", "on")],
            )
            .await;
            assert_eq!(
                added.status(),
                422,
                "adding with payload is refused too on {plan}"
            );
        } else {
            assert_eq!(json(response).await["include_payload"], true, "{plan}");
        }
    }

    // Downgrading keeps the setting (the dispatcher ignores it) and saving does not clear it.
    app.call_with(
        &operator,
        "set_app_plan",
        &[("public_id", &public_id), ("plan", "free")],
    )
    .await;
    let saved = json(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[
                ("endpoint_id", &endpoint_id),
                ("url", "https://example.com/hook"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(saved["include_payload"], true);

    let unknown = app
        .call_with(
            &operator,
            "set_app_plan",
            &[("public_id", &public_id), ("plan", "gold")],
        )
        .await;
    let (status, field, _) = error_field(unknown).await;
    assert_eq!((status, field.as_str()), (422, "plan"));
    let not_operator = app
        .call_with(
            &alice,
            "set_app_plan",
            &[("public_id", &public_id), ("plan", "enterprise")],
        )
        .await;
    assert_eq!(not_operator.status(), 404);
}

async fn at_most_ten_endpoints_per_application(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let public_id = create_app(&app, &alice, "Many").await;
    for n in 0..10 {
        let url = format!("https://example.com/hook/{n}");
        assert_eq!(
            save_endpoint(&app, &alice, &public_id, &[("url", &url)])
                .await
                .status(),
            200
        );
    }
    let (status, field, message) = error_field(
        save_endpoint(
            &app,
            &alice,
            &public_id,
            &[("url", "https://example.com/11")],
        )
        .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "url"));
    assert!(message.contains("10 endpoints"), "{message}");
    let list = json(app.call_with(&alice, "list_apps", &[]).await).await;
    assert_eq!(list[0]["endpoint_count"], 10);
}

async fn signing_secret_rotation_keeps_the_previous_for_a_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let (public_id, endpoint_id) = app_with_endpoint(&app, &alice, "Secrets").await;
    let ids = [
        ("public_id", public_id.as_str()),
        ("endpoint_id", endpoint_id.as_str()),
    ];

    let before = json(app.call_with(&alice, "reveal_signing_secrets", &ids).await).await;
    let original = before["current"].as_str().unwrap().to_owned();
    assert!(original.starts_with("whsec_"));
    assert!(before["previous"].is_null());

    let rotated = json(app.call_with(&alice, "rotate_signing_secret", &ids).await).await;
    assert_ne!(rotated["current"], original.as_str());
    assert_eq!(rotated["previous"], original.as_str());
    let expires = rotated["previous_expires_at_ms"].as_i64().unwrap();
    let now = facehook::server::clock::now_ms();
    let day = 24 * 60 * 60 * 1000;
    assert!((expires - now - day).abs() < 60_000, "about 24 h from now");

    let token = json(
        app.call_with(&alice, "reveal_webhook_token", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let new_token = json(
        app.call_with(&alice, "rotate_webhook_token", &[("public_id", &public_id)])
            .await,
    )
    .await;
    assert_ne!(token, new_token);
    assert!(new_token.as_str().unwrap().starts_with("fhw_"));
}

/// Page loads race: however many requests ask at once, the key is handed out exactly once.
async fn the_issued_key_is_shown_once_even_to_concurrent_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let public_id = create_app(&app, &alice, "Race").await;
    let mut takes = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = alice
            .post(app.url("/api/take_issued_api_key"))
            .header("Origin", &app.address)
            .form(&[("public_id", public_id.clone())]);
        takes.spawn(async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        });
    }
    let mut keys = 0;
    while let Some(answer) = takes.join_next().await {
        if answer.unwrap().is_string() {
            keys += 1;
        }
    }
    assert_eq!(keys, 1);
}

on_both_backends!(
    the_issued_key_is_shown_once_even_to_concurrent_requests,
    applications_are_created_listed_renamed_and_deleted,
    api_key_is_shown_once_and_only_its_hash_is_stored,
    endpoints_are_added_updated_and_deleted,
    each_url_rule_is_enforced_with_its_message,
    payload_inclusion_is_gated_by_plan,
    at_most_ten_endpoints_per_application,
    signing_secret_rotation_keeps_the_previous_for_a_day,
);
