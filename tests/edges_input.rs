//! Hostile input gets a specific answer, never a 500 or a panic: NUL characters anywhere,
//! a CR/LF in a redirect target, a body that is not JSON, a huge value echoed back.

mod common;

use common::console::{create_app, error_field, owner, PASSWORD};
use common::dispatch::hooked;
use common::{location, spawn_app, Backend};
use serde_json::{json, Value};

async fn nul_characters_are_refused_naming_the_field(backend: Backend) {
    let app = hooked(spawn_app(backend).await).await;
    let post = |body: Value| {
        app.app
            .client
            .post(app.app.url("/api/v1/events"))
            .bearer_auth(&app.key)
            .json(&body)
            .send()
    };
    let reply = post(json!({
        "eventName": "enroll", "clientIp": "203.0.113.1", "details": {"gender": "f\u{0}"}
    }))
    .await
    .unwrap();
    assert_eq!(reply.status(), 422);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["field"], "details.gender", "{body}");

    // The linked payload is any JSON, kept as JSON text: a NUL there is stored as its escape.
    let reply = post(json!({
        "eventName": "enroll", "facialId": "nul-payload", "clientIp": "203.0.113.1",
        "payload": {"tags": ["a", "\u{0}"], "k\u{0}": 1}
    }))
    .await
    .unwrap();
    assert_eq!(
        reply.status(),
        202,
        "{}",
        reply.text().await.unwrap_or_default()
    );
    let stored = app
        .app
        .client
        .get(app.app.url("/api/v1/facial-ids/nul-payload"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    let stored: Value = stored.json().await.unwrap();
    assert_eq!(stored["payload"]["tags"][1], "\u{0}", "{stored}");

    // The console's server functions: the field is named, nothing is stored.
    let (status, field, message) = error_field(
        app.app
            .call_with(&app.owner, "create_app", &[("name", "Front\u{0}door")])
            .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "name"), "{message}");
    let (status, field, _) = error_field(
        app.app
            .call(
                "sign_up",
                &[("email", "x\u{0}@example.com"), ("password", PASSWORD)],
            )
            .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "email"));
    let (status, field, _) = error_field(
        app.app
            .call_with(
                &app.owner,
                "list_deliveries",
                &[("public_id", &app.public_id), ("event", "auth\u{0}")],
            )
            .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "event"));

    // A page whose query holds a NUL renders (its data shows the error), never a 500.
    let page = app
        .owner
        .get(
            app.app
                .url(&format!("/apps/{}/deliveries?event=%00", app.public_id)),
        )
        .send()
        .await
        .unwrap();
    assert!(page.status().as_u16() < 500, "{}", page.status());
}

async fn a_crlf_in_the_sign_in_target_is_not_followed(backend: Backend) {
    let app = spawn_app(backend).await;
    owner(&app, "alice@example.com").await;
    let response = app
        .call(
            "sign_in",
            &[
                ("email", "alice@example.com"),
                ("password", PASSWORD),
                ("next", "/apps\r\nSet-Cookie: planted=1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(location(&response), "/apps");
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap_or_default().contains("planted")));
}

async fn intake_wants_json_and_echoes_little(backend: Backend) {
    let app = hooked(spawn_app(backend).await).await;
    let body = json!({"eventName": "enroll", "clientIp": "203.0.113.1"}).to_string();
    let reply = app
        .app
        .client
        .post(app.app.url("/api/v1/events"))
        .bearer_auth(&app.key)
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 415);
    let error: Value = reply.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unsupported_media_type");

    let huge = "9".repeat(60_000);
    let reply = app
        .app
        .client
        .post(app.app.url("/api/v1/events"))
        .bearer_auth(&app.key)
        .json(&json!({"eventName": "enroll", "clientIp": huge}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 422);
    let text = reply.text().await.unwrap();
    assert!(text.len() < 400, "the error echoes {} bytes", text.len());
    assert!(text.contains("clientIp"), "{text}");
}

async fn nothing_is_created_for_an_app_named_with_nul(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = owner(&app, "alice@example.com").await;
    let refused = app
        .call_with(&client, "create_app", &[("name", "\u{0}")])
        .await;
    assert_eq!(refused.status(), 422);
    // The account still works and can create a properly named application.
    create_app(&app, &client, "Front door").await;
}

on_both_backends!(
    nul_characters_are_refused_naming_the_field,
    a_crlf_in_the_sign_in_target_is_not_followed,
    intake_wants_json_and_echoes_little,
    nothing_is_created_for_an_app_named_with_nul,
);
