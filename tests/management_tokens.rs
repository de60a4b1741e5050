//! Organization API tokens on both backends: made and shown once, used, revoked; each role
//! against each kind of action (refused within the organization, not found across); cursors
//! under concurrent inserts; idempotent POSTs.

mod common;

use common::api::{token, Api};
use common::console::{json, owner, save_endpoint};
use common::dispatch::dispatching_app;
use common::orgs::{current_org, member};
use common::Backend;
use serde_json::json;
use std::collections::HashSet;

on_both_backends!(
    a_token_is_shown_once_used_and_revoked,
    each_role_may_do_what_its_members_may,
    cursors_neither_skip_nor_repeat_under_inserts,
    posts_with_an_idempotency_key_happen_once,
);

async fn a_token_is_shown_once_used_and_revoked(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let secret = token(app, &hooked.owner, &org, "viewer").await;
    assert!(secret.starts_with("fht_"), "{secret}");
    let again = json(app.call_with(&hooked.owner, "org_settings", &[]).await).await;
    assert!(again["issued_token"].is_null(), "shown once: {again}");
    let api = Api {
        app,
        token: secret.clone(),
    };
    assert_eq!(api.get("/applications").await.0, 200);

    let page = json(app.call_with(&hooked.owner, "org_settings", &[]).await).await;
    let listed = &page["tokens"][0];
    assert_eq!(
        (listed["name"].as_str(), listed["role"].as_str()),
        (Some("viewer token"), Some("viewer"))
    );
    assert!(secret.starts_with(listed["prefix"].as_str().unwrap()));
    assert!(
        !page.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert_eq!(listed["last_used_ip"], "127.0.0.1");
    assert!(listed["last_used_at_ms"].is_i64());

    // Only owners and admins make tokens, and only owners make owner tokens.
    let admin = member(app, &hooked.owner, &org, "admin@example.com", "admin").await;
    let developer = member(app, &hooked.owner, &org, "dev@example.com", "developer").await;
    let by_developer = app
        .call_with(
            &developer,
            "create_api_token",
            &[("org_id", org.as_str()), ("name", "x"), ("role", "viewer")],
        )
        .await;
    assert_eq!(by_developer.status(), 403);
    let by_admin = app
        .call_with(
            &admin,
            "create_api_token",
            &[("org_id", org.as_str()), ("name", "x"), ("role", "owner")],
        )
        .await;
    assert_eq!(by_admin.status(), 403);
    let unnamed = app
        .call_with(
            &hooked.owner,
            "create_api_token",
            &[("org_id", org.as_str()), ("name", " "), ("role", "viewer")],
        )
        .await;
    assert_eq!(unnamed.status(), 422);
    let too_long = app
        .call_with(
            &hooked.owner,
            "create_api_token",
            &[
                ("org_id", org.as_str()),
                ("name", "ci"),
                ("role", "viewer"),
                ("expires_in_days", "99999"),
            ],
        )
        .await;
    assert_eq!(too_long.status(), 422);

    // A token never outlives its maker's power: demoting the admin who made it silences it,
    // and the list says why.
    let admin_token = Api {
        app,
        token: token(app, &admin, &org, "admin").await,
    };
    assert_eq!(admin_token.get("/members").await.0, 200);
    let ids = common::orgs::member_ids(app, &hooked.owner).await;
    let demoted = app
        .call_with(
            &hooked.owner,
            "change_member_role",
            &[
                ("org_id", org.as_str()),
                ("account_id", ids["admin@example.com"].as_str()),
                ("role", "developer"),
            ],
        )
        .await;
    assert_eq!(demoted.status(), 200);
    assert_eq!(admin_token.get("/members").await.0, 401);
    // Made an admin again, the account does not wake the token it made before.
    let promoted = app
        .call_with(
            &hooked.owner,
            "change_member_role",
            &[
                ("org_id", org.as_str()),
                ("account_id", ids["admin@example.com"].as_str()),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(admin_token.get("/members").await.0, 401);
    let page = json(app.call_with(&hooked.owner, "org_settings", &[]).await).await;
    let names: Vec<&str> = page["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["viewer token"],
        "the demoted admin's token was revoked: {page}"
    );

    let revoked = app
        .call_with(
            &hooked.owner,
            "revoke_api_token",
            &[
                ("org_id", org.as_str()),
                ("token_id", listed["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let (status, reply) = api.get("/applications").await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let audit = json(
        app.call_with(&hooked.owner, "audit_log", &[("org_id", org.as_str())])
            .await,
    )
    .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["api_token.create", "api.request", "api_token.revoke"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

async fn each_role_may_do_what_its_members_may(backend: Backend) {
    const OWNER: u8 = 1;
    const ADMIN: u8 = 2;
    const DEVELOPER: u8 = 4;
    const EVERYONE: u8 = 15;
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let endpoint = json(
        save_endpoint(
            app,
            &hooked.owner,
            &hooked.public_id,
            &[("url", "https://example.com/hook")],
        )
        .await,
    )
    .await;
    let base = format!("/applications/{}", hooked.public_id);
    let at = format!("{base}/endpoints/{}", endpoint["id"].as_str().unwrap());
    let cases: Vec<(&str, String, serde_json::Value, u8)> = vec![
        ("GET", "/applications".into(), json!(null), EVERYONE),
        ("GET", format!("{base}/deliveries"), json!(null), EVERYONE),
        ("GET", "/members".into(), json!(null), EVERYONE),
        (
            "POST",
            "/applications".into(),
            json!({"name": "New"}),
            OWNER | ADMIN,
        ),
        (
            "PATCH",
            base.clone(),
            json!({"name": "Renamed"}),
            OWNER | ADMIN,
        ),
        (
            "POST",
            format!("{base}/api-key/rotate"),
            json!({}),
            OWNER | ADMIN,
        ),
        (
            "POST",
            format!("{base}/webhook-token/rotate"),
            json!({}),
            OWNER | ADMIN,
        ),
        (
            "POST",
            format!("{base}/endpoints"),
            json!({"url": "https://example.com/new"}),
            OWNER | ADMIN | DEVELOPER,
        ),
        (
            "PATCH",
            at.clone(),
            json!({"description": "Edited"}),
            OWNER | ADMIN | DEVELOPER,
        ),
        (
            "GET",
            format!("{at}/signing-secret"),
            json!(null),
            OWNER | ADMIN | DEVELOPER,
        ),
        (
            "POST",
            format!("{at}/signing-secret/rotate"),
            json!({}),
            OWNER | ADMIN,
        ),
        (
            "DELETE",
            format!("{base}/facial-ids/nobody"),
            json!(null),
            OWNER | ADMIN,
        ),
        (
            "POST",
            "/invitations".into(),
            json!({"email": "new@example.com", "role": "viewer"}),
            OWNER | ADMIN,
        ),
        ("GET", "/audit-log".into(), json!(null), OWNER | ADMIN),
    ];
    let stranger = owner(app, "stranger@example.com").await;
    let stranger_org = current_org(app, &stranger).await;
    let outsider = Api {
        app,
        token: token(app, &stranger, &stranger_org, "owner").await,
    };
    for (bit, role) in [
        (OWNER, "owner"),
        (ADMIN, "admin"),
        (DEVELOPER, "developer"),
        (8, "viewer"),
    ] {
        let api = Api {
            app,
            token: token(app, &hooked.owner, &org, role).await,
        };
        for (method, path, body, allowed) in &cases {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let body = (!body.is_null()).then(|| body.clone());
            let (status, reply) = api.send(method.clone(), path, body.clone(), None).await;
            if allowed & bit != 0 {
                assert!(
                    status != 403 && status < 500,
                    "{role} {method} {path}: {status} {reply}"
                );
            } else {
                assert_eq!(status, 403, "{role} {method} {path}: {reply}");
                assert!(
                    reply["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("Your role"),
                    "{reply}"
                );
            }
            if path.starts_with("/applications/") {
                let (status, reply) = outsider.send(method, path, body, None).await;
                assert_eq!(status, 404, "another organization's {path}: {reply}");
            }
        }
    }
    let (_, theirs) = outsider.get("/members").await;
    assert_eq!(
        theirs["data"].as_array().unwrap().len(),
        1,
        "only its own organization: {theirs}"
    );
}

async fn cursors_neither_skip_nor_repeat_under_inserts(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let api = Api {
        app,
        token: token(app, &hooked.owner, &org, "owner").await,
    };
    hooked.add_endpoint("https://example.com/hook", &[]).await;
    let report = |n: usize| {
        let request = app
            .client
            .post(app.url("/api/v1/events"))
            .bearer_auth(&hooked.key)
            .json(&json!({"eventName": "enroll", "facialId": format!("face-{n}"), "clientIp": "192.0.2.1"}));
        async move { assert_eq!(request.send().await.unwrap().status(), 202) }
    };
    for n in 0..30 {
        report(n).await;
    }
    let deliveries = format!("/applications/{}/deliveries", hooked.public_id);
    let before: HashSet<String> = api
        .all(&deliveries, 100)
        .await
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(before.len(), 30);
    let writer = async {
        for n in 30..50 {
            report(n).await;
        }
    };
    let (seen, ()) = tokio::join!(api.all(&deliveries, 4), writer);
    let ids: Vec<String> = seen
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no delivery twice");
    assert!(before.is_subset(&unique), "no delivery skipped");

    // The audit log grows by a line with every read, ahead of the cursor.
    let audit_before: HashSet<String> = api
        .all("/audit-log", 100)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let paged: Vec<String> = api
        .all("/audit-log", 3)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let paged_set: HashSet<String> = paged.iter().cloned().collect();
    assert_eq!(paged_set.len(), paged.len());
    assert!(audit_before.is_subset(&paged_set));

    // Short lists page in ID order: applications made meanwhile never shift the cursor.
    for n in 0..6 {
        assert_eq!(
            api.post("/applications", json!({"name": format!("App {n}")}))
                .await
                .0,
            201
        );
    }
    let apps_before: HashSet<String> = api
        .all("/applications", 100)
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let creator = async {
        for n in 6..10 {
            api.post("/applications", json!({"name": format!("App {n}")}))
                .await;
        }
    };
    let (apps_seen, ()) = tokio::join!(api.all("/applications", 2), creator);
    let apps_ids: Vec<String> = apps_seen
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let apps_set: HashSet<String> = apps_ids.iter().cloned().collect();
    assert_eq!(apps_set.len(), apps_ids.len());
    assert!(apps_before.is_subset(&apps_set));
}

async fn posts_with_an_idempotency_key_happen_once(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let app = &hooked.app;
    let org = current_org(app, &hooked.owner).await;
    let secret = token(app, &hooked.owner, &org, "owner").await;
    let api = Api {
        app,
        token: secret.clone(),
    };
    let post = |key: &'static str, name: &'static str| {
        app.client
            .post(app.url("/api/v1/applications"))
            .bearer_auth(&secret)
            .header("Idempotency-Key", key)
            .json(&json!({"name": name}))
            .send()
    };
    // A reply that held a secret (the new application's API key) is never stored: a repeat is
    // told the request was done, and nothing is made twice.
    let first = post("k1", "Once").await.unwrap();
    assert_eq!(first.status(), 201);
    let second = post("k1", "Once").await.unwrap();
    assert_eq!(second.status(), 409);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(json(second).await["error"]["code"], "idempotency_key_used");
    let other = post("k1", "Twice").await.unwrap();
    assert_eq!(other.status(), 409);
    assert_eq!(json(other).await["error"]["code"], "idempotency_key_reused");

    // Any other reply is given again as it was.
    let endpoints = app.url(&format!(
        "/api/v1/applications/{}/endpoints",
        hooked.public_id
    ));
    let add = || {
        app.client
            .post(&endpoints)
            .bearer_auth(&secret)
            .header("Idempotency-Key", "e1")
            .json(&json!({"url": "https://example.com/once"}))
            .send()
    };
    let made = add().await.unwrap();
    assert_eq!(made.status(), 201);
    let made = json(made).await;
    let again = add().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await, made);
    let (_, listed) = api
        .get(&format!("/applications/{}/endpoints", hooked.public_id))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // A failed request leaves its key free.
    let failed = post("k2", "").await.unwrap();
    assert_eq!(failed.status(), 422);
    assert_eq!(post("k2", "Retried").await.unwrap().status(), 201);

    // Racing requests with one key: one runs, the rest replay it or are told it runs.
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..6 {
        racing.spawn(post("k3", "Raced"));
    }
    let mut made = HashSet::new();
    while let Some(response) = racing.join_next().await {
        let response = response.unwrap().unwrap();
        match response.status().as_u16() {
            201 => {
                made.insert(json(response).await["id"].as_str().unwrap().to_owned());
            }
            409 => {
                // Still running, or done (its reply held the API key, which is not kept).
                let code = json(response).await["error"]["code"].clone();
                assert!(
                    code == "idempotency_key_in_use" || code == "idempotency_key_used",
                    "{code}"
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(made.len(), 1);
    let names: Vec<String> = api
        .all("/applications", 100)
        .await
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    for (name, count) in [("Once", 1), ("Retried", 1), ("Raced", 1), ("Twice", 0)] {
        assert_eq!(
            names.iter().filter(|n| *n == name).count(),
            count,
            "{name}: {names:?}"
        );
    }
}
