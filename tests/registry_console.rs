//! The console's Facial IDs tab server functions, on SQLite and PostgreSQL.

mod common;

use common::console::{app_with_endpoint, error_field, json, owner};
use common::{spawn_app, Backend, TestApp};
use serde_json::{json as j, Value};

async fn enroll(app: &TestApp, key: &str, facial_id: &str, payload: Value) {
    let response = app
        .client
        .post(app.url("/api/v1/events"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&j!({"eventName": "enroll", "facialId": facial_id, "clientIp": "203.0.113.5", "payload": payload}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

async fn registry_lists_searches_pages_counts_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let (public_id, _) = app_with_endpoint(&app, &alice, "Registry").await;
    let key = json(
        app.call_with(&alice, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let key = key.as_str().unwrap();
    for n in 0..23 {
        enroll(&app, key, &format!("user_{n:02}"), j!({"n": n})).await;
    }
    enroll(&app, key, "userX9", j!(null)).await;

    let first = json(
        app.call_with(&alice, "list_facial_ids", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["facial_id"], "userX9", "newest first");
    assert_eq!(first["has_more"], true);
    let counts = first["counts_24h"].as_array().unwrap();
    assert!(counts.contains(&j!(["enroll", 24])), "{counts:?}");
    assert!(counts.contains(&j!(["auth", 0])));

    let second = json(
        app.call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("page", "1")],
        )
        .await,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 4);
    assert_eq!(second["has_more"], false);
    let bad_page = app
        .call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("page", "-1")],
        )
        .await;
    let (status, field, _) = error_field(bad_page).await;
    assert_eq!((status, field.as_str()), (422, "page"));

    // `_` is a literal in the search, not LIKE's any-character wildcard.
    let found = json(
        app.call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("search", "user_1")],
        )
        .await,
    )
    .await;
    let found: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["facial_id"].as_str().unwrap())
        .collect();
    assert_eq!(found.len(), 10, "{found:?}");
    assert!(found.iter().all(|id| id.starts_with("user_1")));
    let detail = json(
        app.call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("search", "user_07")],
        )
        .await,
    )
    .await;
    assert_eq!(detail["items"][0]["payload"], "{\n  \"n\": 7\n}");

    let unconfirmed = app
        .call_with(
            &alice,
            "delete_facial_id",
            &[("public_id", &public_id), ("facial_id", "user_07")],
        )
        .await;
    assert_eq!(unconfirmed.status(), 422);
    let deleted = app
        .call_with(
            &alice,
            "delete_facial_id",
            &[
                ("public_id", &public_id),
                ("facial_id", "user_07"),
                ("confirm", "on"),
            ],
        )
        .await;
    assert_eq!(deleted.status(), 200);
    let after = json(
        app.call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("search", "user_07")],
        )
        .await,
    )
    .await;
    assert!(after["items"].as_array().unwrap().is_empty());
    assert!(
        after["counts_24h"]
            .as_array()
            .unwrap()
            .contains(&j!(["deletion", 1])),
        "deleting emitted an event"
    );

    let mallory = owner(&app, "mallory@example.com").await;
    let theirs = app
        .call_with(&mallory, "list_facial_ids", &[("public_id", &public_id)])
        .await;
    assert_eq!(theirs.status(), 404);
    let steal = app
        .call_with(
            &mallory,
            "delete_facial_id",
            &[
                ("public_id", &public_id),
                ("facial_id", "user_08"),
                ("confirm", "on"),
            ],
        )
        .await;
    assert_eq!(steal.status(), 404);
    let still = json(
        app.call_with(
            &alice,
            "list_facial_ids",
            &[("public_id", &public_id), ("search", "user_08")],
        )
        .await,
    )
    .await;
    assert_eq!(still["items"].as_array().unwrap().len(), 1);
}

on_both_backends!(registry_lists_searches_pages_counts_and_deletes);
