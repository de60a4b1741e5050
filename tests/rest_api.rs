//! The event intake REST API through the real server, on SQLite and PostgreSQL.

mod common;

use common::console::{create_app, json, owner, save_endpoint};
use common::{spawn_app, spawn_app_with, Backend, TestApp};
use serde_json::{json, Value};

/// An application with an API key and three endpoints: all events, `auth` only, and disabled.
async fn app_with_key(app: &TestApp, email: &str) -> (String, String) {
    let client = owner(app, email).await;
    let public_id = create_app(app, &client, "Intake").await;
    let key = json(
        app.call_with(&client, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    for form in [
        vec![("url", "https://example.com/all")],
        vec![
            ("url", "https://example.com/auth"),
            ("events_mode", "selected"),
            ("events[1]", "auth"),
        ],
    ] {
        assert_eq!(
            save_endpoint(app, &client, &public_id, &form)
                .await
                .status(),
            200
        );
    }
    let disabled = app
        .call_with(
            &client,
            "save_endpoint",
            &[
                ("public_id", public_id.as_str()),
                ("url", "https://example.com/off"),
            ],
        )
        .await;
    assert_eq!(disabled.status(), 200);
    (public_id, key.as_str().unwrap().to_owned())
}

async fn send(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {key}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get_path(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    send(app, key, reqwest::Method::GET, path, None).await
}

async fn delete_path(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    send(app, key, reqwest::Method::DELETE, path, None).await
}

async fn post_event(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    send(
        app,
        key,
        reqwest::Method::POST,
        "/api/v1/events",
        Some(body),
    )
    .await
}

async fn enroll_and_auth_create_events_and_outbox_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let (public_id, key) = app_with_key(&app, "alice@example.com").await;
    let (status, body) = post_event(
        &app,
        &key,
        json!({"eventName": "enroll", "clientIp": "2001:db8::7", "details": {"gender": "female", "age": 31}, "payload": {"userId": 42}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let facial_id = body["facialId"].as_str().unwrap().to_owned();
    assert_eq!(facial_id.len(), 32);
    assert!(body["eventId"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(
        body["deliveries"], 1,
        "only the all-events endpoint takes enroll; the disabled one none"
    );

    let store = app.database.store().await;
    let event_id = body["eventId"].as_str().unwrap();
    assert_eq!(
        store
            .pending_deliveries_of_event(&event_id.into())
            .await
            .unwrap(),
        1
    );
    let listed = store
        .app_by_id(&public_id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert!(
        listed.last_event_at.is_some(),
        "the application shows when its last event came"
    );

    let (status, auth) = post_event(
        &app,
        &key,
        json!({"eventName": "auth", "facialId": facial_id, "clientIp": "203.0.113.9"}),
    )
    .await;
    assert_eq!(status, 202, "{auth}");
    assert_eq!(auth["deliveries"], 2);
    let carried = store
        .event_payload(&auth["eventId"].as_str().unwrap().into())
        .await
        .unwrap();
    assert_eq!(
        carried.as_deref(),
        Some(r#"{"userId":42}"#),
        "the auth event carries the linked payload"
    );

    let (status, record) = get_path(&app, &key, &format!("/api/v1/facial-ids/{facial_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(record["payload"], json!({"userId": 42}));
    assert_eq!(record["gender"], "female");
    assert_eq!(record["age"], 31);
    assert!(record["lastAuthenticationAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let (status, _) = post_event(
        &app,
        &key,
        json!({"eventName": "auth", "facialId": "unknown-id", "clientIp": "203.0.113.9"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = post_event(
        &app,
        &key,
        json!({"eventName": "enroll", "facialId": facial_id, "clientIp": "203.0.113.9"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (409, Some("facialId")),
        "enrolling an enrolled facial ID is a conflict"
    );
    assert_eq!(body["error"]["code"], "conflict");
}

async fn registry_routes_update_and_delete_with_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app_with_key(&app, "alice@example.com").await;
    let (_, enrolled) = post_event(&app, &key, json!({"eventName": "enroll", "facialId": "user-7", "clientIp": "198.51.100.4", "payload": "v1"})).await;
    assert_eq!(enrolled["facialId"], "user-7");

    let (status, body) = send(
        &app,
        &key,
        reqwest::Method::PUT,
        "/api/v1/facial-ids/user-7/payload",
        Some(json!({"payload": {"v": 2}})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (_, record) = get_path(&app, &key, "/api/v1/facial-ids/user-7").await;
    assert_eq!(record["payload"], json!({"v": 2}));

    let (status, body) = send(
        &app,
        &key,
        reqwest::Method::PUT,
        "/api/v1/facial-ids/user-7/pincode",
        Some(json!({"pincode": "12a"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("pincode"))
    );
    let (status, body) = send(
        &app,
        &key,
        reqwest::Method::PUT,
        "/api/v1/facial-ids/user-7/pincode",
        Some(json!({"pincode": "123456"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        !record.to_string().contains("123456"),
        "the PIN is never echoed"
    );

    let (status, _) = delete_path(&app, &key, "/api/v1/facial-ids/user-7").await;
    assert_eq!(status, 202);
    let (status, _) = get_path(&app, &key, "/api/v1/facial-ids/user-7").await;
    assert_eq!(status, 404);
    let (status, _) = delete_path(&app, &key, "/api/v1/facial-ids/user-7").await;
    assert_eq!(status, 404);
}

async fn bad_input_gets_a_specific_error_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (public_id, key) = app_with_key(&app, "alice@example.com").await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"clientIp": "203.0.113.9"}), 422, "eventName"),
        (
            json!({"eventName": "login", "clientIp": "203.0.113.9"}),
            422,
            "eventName",
        ),
        (json!({"eventName": "enroll"}), 422, "clientIp"),
        (
            json!({"eventName": "enroll", "clientIp": "not-an-ip"}),
            422,
            "clientIp",
        ),
        (
            json!({"eventName": "enroll", "clientIp": "203.0.113.9", "extra": 1}),
            422,
            "extra",
        ),
        (
            json!({"eventName": "enroll", "clientIp": "203.0.113.9", "details": {"age": 200}}),
            422,
            "details.age",
        ),
        (
            json!({"eventName": "enroll", "clientIp": "203.0.113.9", "payload": "x".repeat(17 * 1024)}),
            422,
            "payload",
        ),
        (
            json!({"eventName": "auth", "clientIp": "203.0.113.9"}),
            422,
            "facialId",
        ),
    ];
    for (body, status, field) in cases {
        let (got, answer) = post_event(&app, &key, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
    }
    let (_, unknown) = post_event(
        &app,
        &key,
        json!({"eventName": "login", "clientIp": "203.0.113.9"}),
    )
    .await;
    assert!(unknown["error"]["message"]
        .as_str()
        .unwrap()
        .contains("enroll, auth, deletion, payload_update, pincode_update"));

    let malformed = app
        .client
        .post(app.url("/api/v1/events"))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body("{\"eventName\": \"enroll\",\n  \"clientIp\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );

    let huge = app
        .client
        .post(app.url("/api/v1/events"))
        .header("Authorization", format!("Bearer {key}"))
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);

    let store = app.database.store().await;
    let record = store
        .app_by_id(&public_id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert!(record.last_event_at.is_none(), "no event was recorded");
}

async fn api_keys_are_checked_without_revealing_applications(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app_with_key(&app, "alice@example.com").await;
    let (_, other_key) = app_with_key(&app, "bob@example.com").await;
    let body = json!({"eventName": "enroll", "clientIp": "203.0.113.9"});

    let (missing, missing_body) = send(
        &app,
        "",
        reqwest::Method::POST,
        "/api/v1/events",
        Some(body.clone()),
    )
    .await;
    let (wrong, wrong_body) = post_event(&app, "fhk_live_notarealkey", body.clone()).await;
    assert_eq!((missing, wrong), (401, 401));
    assert_eq!(missing_body, wrong_body, "the same answer whatever the key");

    let (_, enrolled) = post_event(
        &app,
        &key,
        json!({"eventName": "enroll", "facialId": "alice-user", "clientIp": "203.0.113.9"}),
    )
    .await;
    assert_eq!(enrolled["facialId"], "alice-user");
    let (status, _) = get_path(&app, &other_key, "/api/v1/facial-ids/alice-user").await;
    assert_eq!(status, 404, "another application's facial ID is not found");
    let (status, _) = post_event(
        &app,
        &other_key,
        json!({"eventName": "auth", "facialId": "alice-user", "clientIp": "203.0.113.9"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = delete_path(&app, &other_key, "/api/v1/facial-ids/alice-user").await;
    assert_eq!(status, 404);
    let (status, _) = get_path(&app, &key, "/api/v1/facial-ids/alice-user").await;
    assert_eq!(status, 200, "still there for its own application");
}

async fn idempotency_keys_replay_the_first_reply(backend: Backend) {
    let app = spawn_app(backend).await;
    let (public_id, key) = app_with_key(&app, "alice@example.com").await;
    let body = json!({"eventName": "enroll", "clientIp": "203.0.113.9", "payload": {"n": 1}});
    let post = |idem: &'static str, body: Value| {
        let request = app
            .client
            .post(app.url("/api/v1/events"))
            .header("Authorization", format!("Bearer {key}"))
            .header("Idempotency-Key", idem)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().contains_key("idempotent-replayed");
            (
                response.status().as_u16(),
                replayed,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (first_status, first_replayed, first) = post("order-1", body.clone()).await;
    let (again_status, again_replayed, again) = post("order-1", body.clone()).await;
    assert_eq!((first_status, again_status), (202, 202));
    assert!(!first_replayed && again_replayed);
    assert_eq!(first, again, "the same facial ID and event ID");

    let (reused, _, error) = post(
        "order-1",
        json!({"eventName": "enroll", "clientIp": "203.0.113.10"}),
    )
    .await;
    assert_eq!(reused, 409);
    assert_eq!(error["error"]["code"], "idempotency_key_reused");

    let store = app.database.store().await;
    let facial_id = first["facialId"].as_str().unwrap();
    assert!(store
        .facial_id(&public_id.as_str().into(), facial_id)
        .await
        .unwrap()
        .is_some());
    let (other_status, _, other) = post("order-2", body).await;
    assert_eq!(other_status, 202);
    assert_ne!(
        other["facialId"], first["facialId"],
        "a new key is a new request"
    );
}

async fn each_key_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.api_rate_per_second = 1;
        config.api_burst = 2;
    })
    .await;
    let (_, key) = app_with_key(&app, "alice@example.com").await;
    for _ in 0..2 {
        let (status, _) = get_path(&app, &key, "/api/v1/facial-ids/nobody").await;
        assert_eq!(status, 404);
    }
    let limited = app
        .client
        .get(app.url("/api/v1/facial-ids/nobody"))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

/// A database trigger makes the outbox insert fail after the facial ID and the event were
/// written: the whole transaction must roll back, and the same request later succeeds.
async fn a_failure_mid_transaction_leaves_nothing_behind(backend: Backend) {
    use facehook::server::store::Db;
    let app = spawn_app(backend).await;
    let (public_id, key) = app_with_key(&app, "alice@example.com").await;
    let store = app.database.store().await;
    match store.db() {
        Db::Sqlite(pool) => {
            sqlx::query("CREATE TRIGGER fail_outbox BEFORE INSERT ON deliveries BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
                .execute(pool)
                .await
                .unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query("CREATE FUNCTION fail_outbox() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER fail_outbox BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION fail_outbox()")
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let body = json!({"eventName": "enroll", "facialId": "atomic-1", "clientIp": "203.0.113.9"});
    let (status, answer) = post_event(&app, &key, body.clone()).await;
    assert_eq!(status, 500, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("reference") && !message.contains("injected"),
        "no internals leak: {message}"
    );

    assert!(
        store
            .facial_id(&public_id.as_str().into(), "atomic-1")
            .await
            .unwrap()
            .is_none(),
        "enrollment rolled back"
    );
    let events: i64 = match store.db() {
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    assert_eq!(events, 0, "event rolled back");

    match store.db() {
        Db::Sqlite(pool) => sqlx::query("DROP TRIGGER fail_outbox")
            .execute(pool)
            .await
            .map(|_| ()),
        Db::Postgres(pool) => sqlx::query("DROP TRIGGER fail_outbox ON deliveries")
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .unwrap();
    let (status, answer) = post_event(&app, &key, body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["deliveries"], 1);
}

async fn the_openapi_document_describes_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, method) in [
        ("/api/v1/events", "post"),
        ("/api/v1/facial-ids/{facialId}", "get"),
        ("/api/v1/facial-ids/{facialId}", "delete"),
        ("/api/v1/facial-ids/{facialId}/payload", "put"),
        ("/api/v1/facial-ids/{facialId}/pincode", "put"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        assert!(operation["responses"]["404"].is_object() || method == "post");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let error = &doc["components"]["schemas"]["ErrorDetail"]["properties"];
    assert!(
        error["code"].is_object() && error["message"].is_object() && error["field"].is_object()
    );
    // One variant per event kind, each naming what that kind requires.
    let variants = doc["components"]["schemas"]["EventBody"]["oneOf"]
        .as_array()
        .expect("EventBody is one variant per event kind");
    let kinds: Vec<&str> = variants
        .iter()
        .map(|v| v["properties"]["eventName"]["enum"][0].as_str().unwrap())
        .collect();
    let all: Vec<&str> = facehook::model::app::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(kinds, all);
    for variant in variants {
        let required = variant["required"].as_array().unwrap();
        assert!(required.contains(&json!("eventName")) && required.contains(&json!("clientIp")));
        let needs_pincode = variant["properties"]["eventName"]["enum"][0] == "pincode_update";
        assert_eq!(
            required.contains(&json!("pincode")),
            needs_pincode,
            "{variant}"
        );
    }
    for (path, method, statuses) in [
        (
            "/api/v1/facial-ids/{facialId}/payload",
            "put",
            &["400", "401", "415", "422", "503"][..],
        ),
        (
            "/api/v1/facial-ids/{facialId}",
            "delete",
            &["401", "422", "429", "503"][..],
        ),
    ] {
        let replies = &doc["paths"][path][method]["responses"];
        for status in statuses {
            assert!(
                replies[*status].is_object(),
                "{method} {path}: {status} documented"
            );
        }
    }

    let page = app.get("/api/v1/docs").await.text().await.unwrap();
    assert!(page.contains("<code>POST /api/v1/events</code>"), "{page}");
    assert!(page.contains("Idempotency-Key"));
    let console = app.get("/login").await.text().await.unwrap();
    assert!(
        console.contains("href=\"/api/v1/docs\""),
        "linked from the console"
    );
}

/// Concurrent events are committed together on SQLite; one event's refusal must not affect
/// the others around it.
async fn concurrent_events_succeed_or_fail_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (public_id, key) = app_with_key(&app, "alice@example.com").await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..24 {
        let facial_id = if n % 2 == 0 {
            "same-person".to_owned()
        } else {
            format!("person-{n}")
        };
        let request = app
            .client
            .post(app.url("/api/v1/events"))
            .header("Authorization", format!("Bearer {key}"))
            .json(
                &json!({"eventName": "enroll", "facialId": facial_id, "clientIp": "203.0.113.9"}),
            );
        requests.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = requests.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        13,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        11,
        "{statuses:?}"
    );
    let store = app.database.store().await;
    for n in (1..24).step_by(2) {
        assert!(store
            .facial_id(&public_id.as_str().into(), &format!("person-{n}"))
            .await
            .unwrap()
            .is_some());
    }
    assert!(store
        .facial_id(&public_id.as_str().into(), "same-person")
        .await
        .unwrap()
        .is_some());
}

on_both_backends!(
    concurrent_events_succeed_or_fail_alone,
    the_openapi_document_describes_every_route,
    a_failure_mid_transaction_leaves_nothing_behind,
    enroll_and_auth_create_events_and_outbox_rows,
    registry_routes_update_and_delete_with_events,
    bad_input_gets_a_specific_error_and_stores_nothing,
    api_keys_are_checked_without_revealing_applications,
    idempotency_keys_replay_the_first_reply,
    each_key_is_rate_limited,
);
