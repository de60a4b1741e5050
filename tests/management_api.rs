//! The management API on both backends: each resource's happy path, its validation errors,
//! and the same objects whether a change comes from the console or the API.

mod common;

use common::api::{token, Api};
use common::console::{json, save_endpoint};
use common::dispatch::dispatching_app;
use common::orgs::{current_org, invite};
use common::receiver::{Receiver, Reply};
use common::Backend;
use serde_json::{json, Value};
use std::time::Duration;

/// Polls `read` until `done` holds of its answer, for up to 10 seconds.
async fn until<T, F: std::future::Future<Output = T>>(
    read: impl Fn() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let value = read().await;
        if done(&value) || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_both_backends!(
    every_resource_answers_its_happy_path,
    bad_input_is_refused_with_its_field,
    console_and_api_show_the_same_objects,
);

async fn every_resource_answers_its_happy_path(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let api = Api {
        app,
        token: token(app, &hooked.owner, &org, "owner").await,
    };

    // Applications.
    let (status, created) = api.post("/applications", json!({"name": "Kiosk"})).await;
    assert_eq!(status, 201, "{created}");
    let app_id = created["id"].as_str().unwrap().to_owned();
    assert!(created["apiKey"].as_str().unwrap().starts_with("fhk_live_"));
    assert_eq!(created["plan"], "free");
    let (_, listed) = api.get("/applications").await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(
        ids.contains(&app_id.as_str()) && ids.contains(&hooked.public_id.as_str()),
        "{listed}"
    );
    let (status, renamed) = api
        .patch(&format!("/applications/{app_id}"), json!({"name": "Lobby"}))
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Lobby")));
    assert_eq!(
        api.get(&format!("/applications/{app_id}")).await.1["name"],
        "Lobby"
    );
    let (status, key) = api
        .post(&format!("/applications/{app_id}/api-key/rotate"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_ne!(key["apiKey"], created["apiKey"]);
    let (status, token_reply) = api
        .post(
            &format!("/applications/{app_id}/webhook-token/rotate"),
            json!({}),
        )
        .await;
    assert!(
        status == 200
            && token_reply["webhookToken"]
                .as_str()
                .unwrap()
                .starts_with("fhw_")
    );
    assert_eq!(api.delete(&format!("/applications/{app_id}")).await.0, 204);
    assert_eq!(api.get(&format!("/applications/{app_id}")).await.0, 404);

    // Endpoints, on the application that has a receiver.
    let receiver = Receiver::start("127.0.0.1:0").await;
    let base = format!("/applications/{}", hooked.public_id);
    let (status, endpoint) = api
        .post(&format!("{base}/endpoints"), json!({"url": receiver.url("/hook"), "events": ["enroll", "deletion"], "description": "Door"}))
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    assert_eq!(endpoint["events"], json!(["enroll", "deletion"]));
    assert_eq!(endpoint["enabled"], true);
    let at = format!("{base}/endpoints/{endpoint_id}");
    let (_, patched) = api
        .patch(&at, json!({"events": null, "timeoutSecs": 9}))
        .await;
    assert_eq!(
        (
            patched["events"].clone(),
            patched["timeoutSecs"].clone(),
            patched["description"].clone()
        ),
        (Value::Null, json!(9), json!("Door"))
    );
    assert_eq!(
        api.post(&format!("{at}/disable"), json!({})).await.1["enabled"],
        false
    );
    assert_eq!(
        api.post(&format!("{at}/enable"), json!({})).await.1["enabled"],
        true
    );
    let (_, secret) = api.get(&format!("{at}/signing-secret")).await;
    let (_, rotated) = api
        .post(&format!("{at}/signing-secret/rotate"), json!({}))
        .await;
    assert_eq!(rotated["previous"], secret["current"]);
    assert!(rotated["previousExpiresAt"].is_string());
    let (status, tested) = api.post(&format!("{at}/test"), json!({})).await;
    assert_eq!(
        (
            status,
            tested["delivered"].clone(),
            tested["statusCode"].clone()
        ),
        (200, json!(true), json!(200)),
        "{tested}"
    );
    let (_, endpoints) = api.get(&format!("{base}/endpoints")).await;
    assert_eq!(endpoints["data"].as_array().unwrap().len(), 1);

    // Deliveries, from an event reported with the application's key; the first attempt fails.
    receiver.script([Reply::status(500)]);
    let event = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&hooked.key)
        .json(&json!({"eventName": "enroll", "facialId": "face-1", "clientIp": "192.0.2.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), 202);
    let failed_path = format!("{base}/deliveries?status=failed");
    let failed = until(|| api.all(&failed_path, 10), |d| d.len() == 1).await;
    let delivery_id = failed[0]["id"].as_str().unwrap().to_owned();
    let (_, detail) = api.get(&format!("{base}/deliveries/{delivery_id}")).await;
    assert_eq!(
        (detail["facialId"].clone(), detail["eventName"].clone()),
        (json!("face-1"), json!("enroll"))
    );
    assert!(detail["request"]["body"]
        .as_str()
        .unwrap()
        .contains("face-1"));
    assert_eq!(detail["attemptLog"][0]["statusCode"], 500, "{detail}");

    // Replaying failed deliveries is a job with its own resource.
    let (status, job) = api
        .post(&format!("{at}/replay"), json!({"since": 1_577_836_800}))
        .await;
    assert_eq!((status, job["total"].clone()), (202, json!(1)), "{job}");
    let job_path = format!("{base}/replays/{}", job["id"].as_str().unwrap());
    let done = until(
        || async { api.get(&job_path).await.1 },
        |job| job["finished"] == true,
    )
    .await;
    assert_eq!(done["delivered"], 1, "{done}");
    let (status, nothing) = api
        .post(&format!("{at}/replay"), json!({"since": 1_577_836_800}))
        .await;
    assert_eq!(
        (
            status,
            nothing["total"].clone(),
            nothing["finished"].clone()
        ),
        (200, json!(0), json!(true))
    );
    let (status, _) = api
        .post(
            &format!("{base}/deliveries/{delivery_id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    receiver.wait_for(4, Duration::from_secs(10)).await;

    // Facial IDs and event types.
    let faces = api.all(&format!("{base}/facial-ids"), 5).await;
    assert_eq!(faces.len(), 1);
    assert_eq!(
        api.get(&format!("{base}/facial-ids/face-1")).await.1["facialId"],
        "face-1"
    );
    assert_eq!(
        api.delete(&format!("{base}/facial-ids/face-1")).await.0,
        204
    );
    assert_eq!(api.get(&format!("{base}/facial-ids/face-1")).await.0, 404);
    let (_, types) = api.get("/event-types").await;
    let names: Vec<&str> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "enroll",
            "auth",
            "deletion",
            "payload_update",
            "pincode_update",
            "test"
        ]
    );
    assert_eq!(api.delete(&at).await.0, 204);

    // Members, invitations and the audit log.
    let (status, sent) = api
        .post(
            "/invitations",
            json!({"email": "dev@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert!(
        sent["link"].as_str().unwrap().contains("/invite/fhi_"),
        "no SMTP: the link is in the reply"
    );
    let (_, invitations) = api.get("/invitations").await;
    assert_eq!(invitations["data"][0]["email"], "dev@example.com");
    assert_eq!(
        api.delete(&format!("/invitations/{}", sent["id"].as_str().unwrap()))
            .await
            .0,
        204
    );
    let joiner = common::console::owner(app, "viewer@example.com").await;
    let invitation = invite(app, &hooked.owner, &org, "viewer@example.com", "viewer").await;
    let accepted = app
        .call_with(&joiner, "accept_invitation", &[("token", &invitation)])
        .await;
    assert_eq!(accepted.status(), 200);
    let members = api.all("/members", 1).await;
    let viewer = members
        .iter()
        .find(|m| m["email"] == "viewer@example.com")
        .expect("the new member");
    let viewer_path = format!("/members/{}", viewer["accountId"].as_str().unwrap());
    let (status, changed) = api.patch(&viewer_path, json!({"role": "admin"})).await;
    assert_eq!((status, changed["role"].clone()), (200, json!("admin")));
    assert_eq!(api.delete(&viewer_path).await.0, 204);
    let audit = api.all("/audit-log?action=endpoint.", 50).await;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "endpoint.create",
        "endpoint.update",
        "endpoint.secret_rotate",
        "endpoint.test_event",
        "endpoint.replay",
        "endpoint.delete",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(
        audit
            .iter()
            .all(|e| e["actor"] == "API token “owner token”"),
        "{audit:?}"
    );
}

async fn bad_input_is_refused_with_its_field(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let api = Api {
        app,
        token: token(app, &hooked.owner, &org, "owner").await,
    };
    let base = format!("/applications/{}", hooked.public_id);
    let long = "x".repeat(5000);
    let cases: Vec<(&str, String, Value, &str)> = vec![
        ("POST", "/applications".into(), json!({}), "name"),
        (
            "POST",
            "/applications".into(),
            json!({"name": "  "}),
            "name",
        ),
        (
            "POST",
            "/applications".into(),
            json!({"name": "A", "plan": "enterprise"}),
            "plan",
        ),
        ("PATCH", base.clone(), json!({"name": long}), "name"),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "ftp://example.com"}),
            "url",
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "http://10.0.0.1/"}),
            "url",
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "https://example.com", "events": ["signup"]}),
            "events",
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "https://example.com", "timeoutSecs": 0}),
            "timeoutSecs",
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "https://example.com", "includePayload": true}),
            "includePayload",
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "https://exa\u{0}mple.com"}),
            "url",
        ),
        (
            "POST",
            "/invitations".into(),
            json!({"email": "not an email", "role": "viewer"}),
            "email",
        ),
        (
            "POST",
            "/invitations".into(),
            json!({"email": "a@example.com", "role": "king"}),
            "role",
        ),
    ];
    for (method, path, body, field) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (status, reply) = api.send(method, &path, Some(body.clone()), None).await;
        assert_eq!(
            (status, reply["error"]["field"].as_str()),
            (422, Some(field)),
            "{path} {body}: {reply}"
        );
        assert!(!reply["error"]["message"].as_str().unwrap().is_empty());
    }
    for (path, field) in [
        ("/applications?limit=0".to_owned(), "limit"),
        ("/applications?limit=101".to_owned(), "limit"),
        (format!("{base}/deliveries?after=del_nothing"), "after"),
        (format!("{base}/deliveries?status=lost"), "status"),
        (format!("{base}/deliveries?from=yesterday"), "from"),
        ("/audit-log?after=aud_nothing".to_owned(), "after"),
        ("/applications?colour=red".to_owned(), "colour"),
        ("/applications?limit=many".to_owned(), "limit"),
        (format!("{base}/deliveries?from=-5"), "from"),
        (format!("{base}/deliveries?event=Enroll"), "event"),
        ("/applications?after=%00".to_owned(), "query"),
    ] {
        let (status, reply) = api.get(&path).await;
        assert_eq!(
            (status, reply["error"]["field"].as_str()),
            (422, Some(field)),
            "{path}: {reply}"
        );
    }
    let (status, reply) = api
        .post(
            &format!("{base}/endpoints/ep_nothing/replay"),
            json!({"since": "soon"}),
        )
        .await;
    assert_eq!(
        (status, reply["error"]["field"].as_str()),
        (422, Some("since")),
        "{reply}"
    );
    // IDs no object can have are simply not found.
    for path in [
        format!("{base}%00"),
        format!("{base}/endpoints/%FF%FE"),
        "/applications/a%00b/deliveries".to_owned(),
    ] {
        let (status, reply) = api.get(&path).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {reply}"
        );
    }
    let json_body = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/applications"))
            .bearer_auth(&api.token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(json_body("{\"name\": ").await.unwrap().status(), 400);
    // Nothing may follow the JSON value: trailing bytes would slip past the NUL check.
    let trailing = json_body("{\"name\": \"a\\u0000\"} x").await.unwrap();
    assert_eq!(trailing.status(), 400);
    let form = app
        .client
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&api.token)
        .form(&[("name", "A")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let unauthenticated = app
        .client
        .get(app.url("/api/v1/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let with_key = app
        .client
        .get(app.url("/api/v1/applications"))
        .bearer_auth(&hooked.key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 401);
    assert!(json(with_key).await["error"]["message"]
        .as_str()
        .unwrap()
        .contains("fht_"));
}

/// The console's view of an endpoint and the API's agree field for field, whichever made it.
async fn console_and_api_show_the_same_objects(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let api = Api {
        app,
        token: token(app, &hooked.owner, &org, "developer").await,
    };
    let base = format!("/applications/{}", hooked.public_id);
    let from_console = json(
        save_endpoint(
            app,
            &hooked.owner,
            &hooked.public_id,
            &[
                ("url", "https://example.com/a"),
                ("description", "A"),
                ("events_mode", "selected"),
                ("events[1]", "auth"),
                ("timeout_secs", "7"),
            ],
        )
        .await,
    )
    .await;
    let (_, from_api) = api
        .post(&format!("{base}/endpoints"), json!({"url": "https://example.com/b", "description": "B", "events": ["auth"], "timeoutSecs": 7}))
        .await;
    for made in [&from_console, &from_api] {
        let id = made["id"].as_str().unwrap();
        let console = json(
            app.call_with(
                &hooked.owner,
                "get_endpoint",
                &[("public_id", &hooked.public_id), ("endpoint_id", id)],
            )
            .await,
        )
        .await;
        let (_, api_view) = api.get(&format!("{base}/endpoints/{id}")).await;
        let pairs = [
            ("id", "id"),
            ("url", "url"),
            ("description", "description"),
            ("enabled", "enabled"),
            ("events", "events"),
            ("include_payload", "includePayload"),
            ("timeout_secs", "timeoutSecs"),
            ("disabled_reason", "disabledReason"),
        ];
        for (console_field, api_field) in pairs {
            let console_value = match &console[console_field] {
                Value::Array(kinds) => Value::Array(
                    kinds
                        .iter()
                        .map(|k| json!(k.as_str().unwrap().to_lowercase()))
                        .collect(),
                ),
                other => other.clone(),
            };
            let api_value = match &api_view[api_field] {
                Value::Array(kinds) => Value::Array(
                    kinds
                        .iter()
                        .map(|k| json!(k.as_str().unwrap().replace('_', "")))
                        .collect(),
                ),
                other => other.clone(),
            };
            assert_eq!(
                console_value, api_value,
                "{console_field}: {console} vs {api_view}"
            );
        }
    }
    let console_apps = json(app.call_with(&hooked.owner, "list_apps", &[]).await).await;
    let (_, api_apps) = api.get("/applications").await;
    assert_eq!(console_apps[0]["public_id"], api_apps["data"][0]["id"]);
    assert_eq!(console_apps[0]["name"], api_apps["data"][0]["name"]);
    assert_eq!(
        console_apps[0]["endpoint_count"],
        api_apps["data"][0]["endpointCount"]
    );
}
