//! The audit log on SQLite and PostgreSQL: every listed action leaves its entry with actor
//! and IP; filters, CSV and JSON export, and who may read it.

mod common;

use common::console::{create_app, json, owner};
use common::orgs::{current_org, member, member_ids};
use common::{spawn_app, Backend};

/// The actions the role matrix does not reach each leave their entry: plan changes by the
/// operator, enabling and disabling, redelivery, invitation and member changes.
async fn every_listed_action_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    // The first account is the operator.
    let operator = owner(&app, "operator@example.com").await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let org = org_id.as_str();
    let public_id = create_app(&app, &alice, "Audited").await;
    let key = json(
        app.call_with(&alice, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let saved = json(
        common::console::save_endpoint(
            &app,
            &alice,
            &public_id,
            &[("url", "https://example.com/a")],
        )
        .await,
    )
    .await;
    let endpoint_id = saved["id"].as_str().unwrap().to_owned();
    let toggle = |enabled: &'static str| {
        let (app, alice, public_id, endpoint_id) =
            (&app, &alice, public_id.clone(), endpoint_id.clone());
        async move {
            let mut form = vec![
                ("public_id", public_id.as_str()),
                ("endpoint_id", endpoint_id.as_str()),
                ("url", "https://example.com/a"),
            ];
            if !enabled.is_empty() {
                form.push(("enabled", enabled));
            }
            assert_eq!(
                app.call_with(alice, "save_endpoint", &form).await.status(),
                200
            );
        }
    };
    toggle("").await;
    toggle("on").await;
    let plan = app
        .call_with(
            &operator,
            "set_app_plan",
            &[("public_id", &public_id), ("plan", "business")],
        )
        .await;
    assert_eq!(plan.status(), 200);

    // An event makes a delivery (no dispatcher runs here), which is then redelivered.
    let accepted = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(key.as_str().unwrap())
        .json(&serde_json::json!({"eventName": "enroll", "facialId": "face-1", "clientIp": "203.0.113.9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let page = json(
        app.call_with(&alice, "list_deliveries", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let delivery_id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let redelivered = app
        .call_with(
            &alice,
            "redeliver",
            &[("public_id", &public_id), ("delivery_id", &delivery_id)],
        )
        .await;
    assert_eq!(
        redelivered.status(),
        200,
        "{}",
        redelivered.text().await.unwrap_or_default()
    );

    // Invitations resent and revoked; members changed, removed, leaving; ownership handed on.
    common::orgs::invite(&app, &alice, org, "pending@example.com", "viewer").await;
    let pending = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let invitation = pending["invitations"][0]["id"].as_str().unwrap().to_owned();
    let form = [("org_id", org), ("invitation_id", invitation.as_str())];
    assert_eq!(
        app.call_with(&alice, "resend_invitation", &form)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call_with(&alice, "revoke_invitation", &form)
            .await
            .status(),
        200
    );
    let bob = member(&app, &alice, org, "bob@example.com", "developer").await;
    member(&app, &alice, org, "carol@example.com", "viewer").await;
    let ids = member_ids(&app, &alice).await;
    let change = [
        ("org_id", org),
        ("account_id", ids["bob@example.com"].as_str()),
        ("role", "admin"),
    ];
    assert_eq!(
        app.call_with(&alice, "change_member_role", &change)
            .await
            .status(),
        200
    );
    let remove = [
        ("org_id", org),
        ("account_id", ids["carol@example.com"].as_str()),
    ];
    assert_eq!(
        app.call_with(&alice, "remove_member", &remove)
            .await
            .status(),
        200
    );
    let transfer = [
        ("org_id", org),
        ("account_id", ids["bob@example.com"].as_str()),
    ];
    assert_eq!(
        app.call_with(&alice, "transfer_ownership", &transfer)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call_with(&alice, "leave_org", &[("org_id", org)])
            .await
            .status(),
        200
    );

    let exported = app
        .get_with(&bob, &format!("/org/{org_id}/audit/export?format=json"))
        .await;
    assert_eq!(exported.status(), 200);
    let entries: Vec<serde_json::Value> = exported.json().await.unwrap();
    let by = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:?}"))
            .clone()
    };
    let plan = by("app.plan_change");
    assert_eq!(plan["actor"], "operator@example.com");
    assert!(plan["details"].as_str().unwrap().contains("\"business\""));
    for action in [
        "console.sign_in",
        "endpoint.disable",
        "endpoint.enable",
        "delivery.redeliver",
        "member.invitation_resend",
        "member.invitation_revoke",
        "member.role_change",
        "member.remove",
        "org.ownership_transfer",
        "member.leave",
    ] {
        let entry = by(action);
        assert_eq!(entry["ip"], "127.0.0.1", "{action}");
    }
    assert_eq!(by("member.leave")["actor"], "alice@example.com");
}

async fn the_audit_log_filters_and_exports(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let bob = member(&app, &alice, &org_id, "bob@example.com", "developer").await;
    let public_id = create_app(&app, &alice, "Kiosk").await;
    app.call_with(
        &alice,
        "rename_app",
        &[("public_id", &public_id), ("name", "Front door")],
    )
    .await;

    let renames = json(
        app.call_with(&alice, "audit_log", &[("action", "app.rename")])
            .await,
    )
    .await;
    let entries = renames["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{renames}");
    assert_eq!(entries[0]["actor"], "alice@example.com");
    assert_eq!(entries[0]["ip"], "127.0.0.1");
    let details: serde_json::Value =
        serde_json::from_str(entries[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["after"]["name"], "Front door");
    assert_eq!(details["before"]["name"], "Kiosk");
    let by_bob = json(
        app.call_with(&alice, "audit_log", &[("actor", "bob@")])
            .await,
    )
    .await;
    assert!(by_bob["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "bob@example.com"));
    assert!(!by_bob["entries"].as_array().unwrap().is_empty());
    let future = json(
        app.call_with(&alice, "audit_log", &[("from", "2999-01-01T00:00")])
            .await,
    )
    .await;
    assert!(future["entries"].as_array().unwrap().is_empty());
    let bad = app
        .call_with(&alice, "audit_log", &[("from", "yesterday")])
        .await;
    assert_eq!(bad.status(), 422);

    let csv = app
        .get_with(
            &alice,
            &format!("/org/{org_id}/audit/export?format=csv&action=app."),
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("time_utc,actor,action,object_kind,object_id,ip,details"),
        "{text}"
    );
    assert!(
        text.contains("app.rename") && text.contains("app.create"),
        "{text}"
    );
    let exported = app
        .get_with(&alice, &format!("/org/{org_id}/audit/export?format=json"))
        .await;
    let exported: serde_json::Value = exported.json().await.unwrap();
    assert!(exported
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "member.invitation_accept"));
    // Developers cannot read the log; other organizations' members do not find it.
    let refused = app
        .get_with(&bob, &format!("/org/{org_id}/audit/export?format=csv"))
        .await;
    assert_eq!(refused.status(), 403);
    let eve = owner(&app, "eve@example.com").await;
    let hidden = app
        .get_with(&eve, &format!("/org/{org_id}/audit/export?format=csv"))
        .await;
    assert_eq!(hidden.status(), 404);
}

on_both_backends!(
    every_listed_action_is_audited,
    the_audit_log_filters_and_exports,
);
