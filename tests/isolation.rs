//! Isolation between accounts, and the operator's powers, through the real server.

mod common;

use common::console::{app_with_endpoint, create_app, error_field, json, owner, PASSWORD};
use common::{new_client, spawn_app, Backend};

/// Every application and endpoint server function, called by another account with real IDs,
/// answers exactly like a missing ID and changes nothing.
async fn other_accounts_get_not_found_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let mallory = owner(&app, "mallory@example.com").await;
    let (public_id, endpoint_id) = app_with_endpoint(&app, &alice, "Private").await;
    let before = json(
        app.call_with(
            &alice,
            "reveal_signing_secrets",
            &[("public_id", &public_id), ("endpoint_id", &endpoint_id)],
        )
        .await,
    )
    .await;
    let id = public_id.as_str();
    let ep = endpoint_id.as_str();

    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("get_app", vec![("public_id", id)]),
        ("rename_app", vec![("public_id", id), ("name", "Stolen")]),
        (
            "delete_app",
            vec![("public_id", id), ("confirmation", "Private")],
        ),
        ("rotate_api_key", vec![("public_id", id)]),
        ("reveal_webhook_token", vec![("public_id", id)]),
        ("rotate_webhook_token", vec![("public_id", id)]),
        ("list_endpoints", vec![("public_id", id)]),
        (
            "save_endpoint",
            vec![("public_id", id), ("url", "https://evil.example/x")],
        ),
        (
            "save_endpoint",
            vec![
                ("public_id", id),
                ("endpoint_id", ep),
                ("url", "https://evil.example/x"),
            ],
        ),
        (
            "delete_endpoint",
            vec![("public_id", id), ("endpoint_id", ep)],
        ),
        (
            "reveal_signing_secrets",
            vec![("public_id", id), ("endpoint_id", ep)],
        ),
        (
            "rotate_signing_secret",
            vec![("public_id", id), ("endpoint_id", ep)],
        ),
    ];
    for (function, form) in &calls {
        let theirs = app.call_with(&mallory, function, form).await;
        let theirs_status = theirs.status();
        let theirs_body = theirs.text().await.unwrap();
        let missing: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| match *k {
                "public_id" => (*k, "fiozzzzzzzz"),
                _ => (*k, *v),
            })
            .collect();
        let absent = app.call_with(&mallory, function, &missing).await;
        assert_eq!(theirs_status, 404, "{function}: {theirs_body}");
        assert_eq!(absent.status(), 404, "{function} on a missing id");
        assert_eq!(
            theirs_body,
            absent.text().await.unwrap(),
            "{function}: same answer as missing"
        );
    }
    // Alice's endpoint of another app id is not found either.
    let own_app = create_app(&app, &mallory, "Mine").await;
    let crossed = app
        .call_with(
            &mallory,
            "reveal_signing_secrets",
            &[("public_id", &own_app), ("endpoint_id", ep)],
        )
        .await;
    assert_eq!(crossed.status(), 404);
    assert!(
        json(app.call_with(&mallory, "list_apps", &[]).await)
            .await
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    let after = json(app.call_with(&alice, "get_app", &[("public_id", id)]).await).await;
    assert_eq!(after["name"], "Private");
    let secrets = json(
        app.call_with(
            &alice,
            "reveal_signing_secrets",
            &[("public_id", id), ("endpoint_id", ep)],
        )
        .await,
    )
    .await;
    assert_eq!(secrets, before, "nothing rotated");
    let endpoints = json(
        app.call_with(&alice, "list_endpoints", &[("public_id", id)])
            .await,
    )
    .await;
    assert_eq!(endpoints.as_array().unwrap().len(), 1);
    assert_eq!(endpoints[0]["url"], "https://example.com/hook");

    let page = mallory
        .get(app.url(&format!("/apps/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "the page is not found too");
    let own_page = alice
        .get(app.url(&format!("/apps/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(own_page.status(), 200);
}

async fn operator_overview_is_for_operators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let operator = owner(&app, "ops@example.com").await;
    let alice = owner(&app, "alice@example.com").await;
    create_app(&app, &alice, "One").await;
    create_app(&app, &alice, "Two").await;

    assert_eq!(
        app.call_with(&alice, "operator_overview", &[])
            .await
            .status(),
        404
    );
    let overview = json(app.call_with(&operator, "operator_overview", &[]).await).await;
    let accounts = overview["accounts"].as_array().unwrap();
    let alice_row = accounts
        .iter()
        .find(|a| a["email"] == "alice@example.com")
        .unwrap();
    assert_eq!(alice_row["app_count"], 2);
    assert_eq!(overview["apps"].as_array().unwrap().len(), 2);

    let alice_id = alice_row["id"].as_str().unwrap();
    let disabled = app
        .call_with(
            &operator,
            "set_account_disabled",
            &[("account_id", alice_id), ("disabled", "true")],
        )
        .await;
    assert_eq!(disabled.status(), 200);
    assert_eq!(
        app.call_with(&alice, "list_apps", &[]).await.status(),
        401,
        "a disabled account's session stops working"
    );
    let again = app
        .call_with(
            &new_client(),
            "sign_in",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status(), 403);

    let operator_id = accounts
        .iter()
        .find(|a| a["email"] == "ops@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, field, _) = error_field(
        app.call_with(
            &operator,
            "set_account_disabled",
            &[("account_id", &operator_id), ("disabled", "true")],
        )
        .await,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "disabled"));
}

on_both_backends!(
    other_accounts_get_not_found_everywhere,
    operator_overview_is_for_operators_only,
);
