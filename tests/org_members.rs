//! Organizations on SQLite and PostgreSQL: invitations mailed through a real SMTP server
//! (aiosmtpd), used once, resent and revoked; roles changed; members removed; leaving,
//! transferring ownership, switching and deleting; the audit log's filters and exports.

mod common;

use common::console::{create_app, json, owner};
use common::orgs::{current_org, invitation_token, member};
use common::smtp::SmtpServer;
use common::{spawn_app, spawn_app_with, Backend};

const JOIN: &str = "Join Acme on Facehook";

async fn invitations_are_mailed_used_once_resent_and_revoked(backend: Backend) {
    let server = SmtpServer::start().await;
    let url = server.url();
    let app = spawn_app_with(backend, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.mail_from = Some("Facehook <facehook@example.com>".into());
        config.require_verified_email = Some(false);
    })
    .await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let renamed = app
        .call_with(
            &alice,
            "rename_org",
            &[("org_id", &org_id), ("name", "Acme")],
        )
        .await;
    assert_eq!(renamed.status(), 200);

    let invite = |email: &'static str| {
        let (app, alice, org_id) = (&app, &alice, &org_id);
        async move {
            app.call_with(
                alice,
                "invite_member",
                &[("org_id", org_id), ("email", email), ("role", "developer")],
            )
            .await
        }
    };
    // With mail, the link goes by mail only.
    assert_eq!(
        json(invite("bob@example.com").await).await,
        serde_json::Value::Null
    );
    let mails = server.wait_for_mails_to("bob@example.com", JOIN, 1).await;
    let mail = &mails[0];
    assert!(
        mail.contains("alice@example.com invited you to join Acme on Facehook as Developer"),
        "{mail}"
    );
    let first_token = invitation_token(mail);

    // A resend mails a new link; the first stops working.
    let pending = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let invitation_id = pending["invitations"][0]["id"].as_str().unwrap().to_owned();
    let resent = app
        .call_with(
            &alice,
            "resend_invitation",
            &[("org_id", &org_id), ("invitation_id", &invitation_id)],
        )
        .await;
    assert_eq!(resent.status(), 200);
    let mails = server.wait_for_mails_to("bob@example.com", JOIN, 2).await;
    let second_token = mails
        .iter()
        .map(|m| invitation_token(m))
        .find(|t| *t != first_token)
        .expect("a second link");
    let bob = owner(&app, "bob@example.com").await;
    let stale = app
        .call_with(&bob, "accept_invitation", &[("token", &first_token)])
        .await;
    assert_eq!(stale.status(), 422);
    let preview = json(
        app.call_with(&bob, "invitation_details", &[("token", &second_token)])
            .await,
    )
    .await;
    assert_eq!(preview["org_name"], "Acme");
    assert_eq!(preview["role"], "developer");
    let accepted = app
        .call_with(&bob, "accept_invitation", &[("token", &second_token)])
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        current_org(&app, &bob).await,
        org_id,
        "joining opens the organization"
    );
    // Used once.
    let again = app
        .call_with(&bob, "accept_invitation", &[("token", &second_token)])
        .await;
    assert_eq!(again.status(), 422);
    let members = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let roles: Vec<_> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert!(roles.contains(&("bob@example.com".into(), "developer".into())));

    // A member is not invited again; a bad address names its field.
    let twice = invite("bob@example.com").await;
    assert_eq!(twice.status(), 409);
    let bad = app
        .call_with(
            &alice,
            "invite_member",
            &[
                ("org_id", &org_id),
                ("email", "not an email"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("\"field\":\"email\""));
    let bad_role = app
        .call_with(
            &alice,
            "invite_member",
            &[
                ("org_id", &org_id),
                ("email", "x@example.com"),
                ("role", "root"),
            ],
        )
        .await;
    assert!(bad_role
        .text()
        .await
        .unwrap()
        .contains("\"field\":\"role\""));

    // Revoked: the link stops working.
    invite("carol@example.com").await;
    let mails = server.wait_for_mails_to("carol@example.com", JOIN, 1).await;
    let carol_token = invitation_token(&mails[0]);
    let pending = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let carol_invitation = pending["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "carol@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A developer cannot revoke; the owner can.
    let refused = app
        .call_with(
            &bob,
            "revoke_invitation",
            &[("org_id", &org_id), ("invitation_id", &carol_invitation)],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let revoked = app
        .call_with(
            &alice,
            "revoke_invitation",
            &[("org_id", &org_id), ("invitation_id", &carol_invitation)],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let carol = owner(&app, "carol@example.com").await;
    let dead = app
        .call_with(&carol, "accept_invitation", &[("token", &carol_token)])
        .await;
    assert_eq!(dead.status(), 422);

    // Expired after 7 days.
    invite("dave@example.com").await;
    let mails = server.wait_for_mails_to("dave@example.com", JOIN, 1).await;
    let dave_token = invitation_token(&mails[0]);
    let store = app.database.store().await;
    expire_invitations(&store).await;
    let dave = owner(&app, "dave@example.com").await;
    let expired = app
        .call_with(&dave, "accept_invitation", &[("token", &dave_token)])
        .await;
    assert_eq!(expired.status(), 422);
}

async fn expire_invitations(store: &facehook::server::store::Store) {
    use facehook::server::store::Db;
    let sql = "UPDATE invitations SET expires_at = 0";
    match store.db() {
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .expect("expire invitations");
}

async fn members_change_roles_leave_and_hand_over_ownership(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let bob = member(&app, &alice, &org_id, "bob@example.com", "admin").await;
    let carol = member(&app, &alice, &org_id, "carol@example.com", "viewer").await;
    let ids = member_ids(&app, &alice).await;
    let call =
        |client: &reqwest::Client, function: &'static str, form: Vec<(&'static str, String)>| {
            let client = client.clone();
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call_with(&client, function, &form).await
            }
        };
    let org = || ("org_id", org_id.clone());

    // The last owner can neither leave nor be demoted.
    assert_eq!(call(&alice, "leave_org", vec![org()]).await.status(), 422);
    let demote = call(
        &alice,
        "change_member_role",
        vec![
            org(),
            ("account_id", ids["alice@example.com"].clone()),
            ("role", "admin".into()),
        ],
    )
    .await;
    assert_eq!(demote.status(), 422);
    // An admin manages non-owners but not owners.
    let promote = call(
        &bob,
        "change_member_role",
        vec![
            org(),
            ("account_id", ids["carol@example.com"].clone()),
            ("role", "developer".into()),
        ],
    )
    .await;
    assert_eq!(promote.status(), 200);
    let make_owner = call(
        &bob,
        "change_member_role",
        vec![
            org(),
            ("account_id", ids["carol@example.com"].clone()),
            ("role", "owner".into()),
        ],
    )
    .await;
    assert_eq!(make_owner.status(), 403);
    let remove_owner = call(
        &bob,
        "remove_member",
        vec![org(), ("account_id", ids["alice@example.com"].clone())],
    )
    .await;
    assert_eq!(remove_owner.status(), 403);
    // A viewer-turned-developer still cannot manage members.
    let refused = call(
        &carol,
        "remove_member",
        vec![org(), ("account_id", ids["bob@example.com"].clone())],
    )
    .await;
    assert_eq!(refused.status(), 403);

    // Ownership handed over: alice becomes an admin and may then leave.
    let transfer = call(
        &alice,
        "transfer_ownership",
        vec![org(), ("account_id", ids["bob@example.com"].clone())],
    )
    .await;
    assert_eq!(transfer.status(), 200);
    let roles = member_roles(&app, &bob).await;
    assert_eq!(roles["bob@example.com"], "owner");
    assert_eq!(roles["alice@example.com"], "admin");
    assert_eq!(call(&alice, "leave_org", vec![org()]).await.status(), 200);
    // Gone from the organization: its applications are not found, and her console shows her
    // a new organization of her own.
    let public_id = create_app(&app, &bob, "Shared").await;
    let hidden = app
        .call_with(&alice, "get_app", &[("public_id", &public_id)])
        .await;
    assert_eq!(hidden.status(), 404);
    let hers = current_org(&app, &alice).await;
    assert_ne!(hers, org_id);

    // Removing a member ends their access at once.
    assert_eq!(
        call(
            &bob,
            "remove_member",
            vec![org(), ("account_id", ids["carol@example.com"].clone())]
        )
        .await
        .status(),
        200
    );
    let gone = app
        .call_with(&carol, "get_app", &[("public_id", &public_id)])
        .await;
    assert_eq!(gone.status(), 404);

    // Switching: bob creates a second organization; the list follows the switch.
    let created = app
        .call_with(&bob, "create_org", &[("name", "Side project")])
        .await;
    assert_eq!(created.status(), 200);
    let choice = json(app.call_with(&bob, "current_orgs", &[]).await).await;
    assert_eq!(choice["current"]["name"], "Side project");
    assert_eq!(choice["all"].as_array().unwrap().len(), 3);
    let apps = json(app.call_with(&bob, "list_apps", &[]).await).await;
    assert_eq!(
        apps.as_array().unwrap().len(),
        0,
        "a new organization has no applications"
    );
    let switched = app
        .call_with(&bob, "switch_org", &[("org_id", &org_id)])
        .await;
    assert_eq!(switched.status(), 200);
    let apps = json(app.call_with(&bob, "list_apps", &[]).await).await;
    assert_eq!(apps[0]["public_id"], public_id.as_str());
    // Nobody switches into an organization they are not in.
    let foreign = app
        .call_with(&carol, "switch_org", &[("org_id", &org_id)])
        .await;
    assert_eq!(foreign.status(), 404);

    // Deleting needs the name typed, and takes the applications with it.
    let wrong = app
        .call_with(
            &bob,
            "delete_org",
            &[("org_id", &org_id), ("confirmation", "nope")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let name = json(app.call_with(&bob, "org_settings", &[]).await).await["org"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = app
        .call_with(
            &bob,
            "delete_org",
            &[("org_id", &org_id), ("confirmation", &name)],
        )
        .await;
    assert_eq!(deleted.status(), 200);
    let gone = app
        .call_with(&bob, "get_app", &[("public_id", &public_id)])
        .await;
    assert_eq!(gone.status(), 404);
}

/// Membership changes that race are judged on the state they are made to: whatever order they
/// land in, an organization keeps an owner, and a removed admin's invitations stop working.
async fn racing_changes_never_leave_an_organization_without_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let bob = member(&app, &alice, &org_id, "bob@example.com", "owner").await;
    let carol = member(&app, &alice, &org_id, "carol@example.com", "admin").await;
    let ids = member_ids(&app, &alice).await;
    let org = org_id.as_str();

    // Both owners leave at once: one of them stays.
    let leave = [("org_id", org)];
    let (left_a, left_b) = tokio::join!(
        app.call_with(&alice, "leave_org", &leave),
        app.call_with(&bob, "leave_org", &leave),
    );
    let statuses = [left_a.status().as_u16(), left_b.status().as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&422),
        "{statuses:?}"
    );
    let (stayed, stayer) = if statuses[0] == 422 {
        (&alice, "alice@example.com")
    } else {
        (&bob, "bob@example.com")
    };
    assert_eq!(member_roles(&app, stayed).await[stayer], "owner");

    // A transfer races an admin's demotion of its target: an owner remains either way.
    let dave = member(&app, stayed, org, "dave@example.com", "developer").await;
    let dave_id = member_ids(&app, stayed).await["dave@example.com"].clone();
    let transfer = [("org_id", org), ("account_id", dave_id.as_str())];
    let demote = [
        ("org_id", org),
        ("account_id", dave_id.as_str()),
        ("role", "viewer"),
    ];
    let (_, _) = tokio::join!(
        app.call_with(stayed, "transfer_ownership", &transfer),
        app.call_with(&carol, "change_member_role", &demote),
    );
    let roles = member_roles(&app, &dave).await;
    assert!(roles.values().any(|role| role == "owner"), "{roles:?}");

    // An admin's pending invitations die with the admin's removal.
    let owner_now = if roles[stayer] == "owner" {
        stayed
    } else {
        &dave
    };
    let token = common::orgs::invite(&app, &carol, org, "mallory@example.com", "admin").await;
    let removed = app
        .call_with(
            owner_now,
            "remove_member",
            &[("org_id", org), ("account_id", &ids["carol@example.com"])],
        )
        .await;
    assert_eq!(
        removed.status(),
        200,
        "{}",
        removed.text().await.unwrap_or_default()
    );
    let mallory = owner(&app, "mallory@example.com").await;
    let accepted = app
        .call_with(&mallory, "accept_invitation", &[("token", &token)])
        .await;
    assert_eq!(
        accepted.status(),
        422,
        "the removed admin's invitation is revoked"
    );
}

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

async fn member_ids(
    app: &common::TestApp,
    client: &reqwest::Client,
) -> std::collections::HashMap<String, String> {
    let page = json(app.call_with(client, "org_settings", &[]).await).await;
    page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m["account_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn member_roles(
    app: &common::TestApp,
    client: &reqwest::Client,
) -> std::collections::HashMap<String, String> {
    let page = json(app.call_with(client, "org_settings", &[]).await).await;
    page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

on_both_backends!(
    invitations_are_mailed_used_once_resent_and_revoked,
    members_change_roles_leave_and_hand_over_ownership,
    racing_changes_never_leave_an_organization_without_an_owner,
    every_listed_action_is_audited,
    the_audit_log_filters_and_exports,
);
