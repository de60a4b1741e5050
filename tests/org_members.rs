//! Organization membership on SQLite and PostgreSQL: roles changed, members removed, leaving,
//! transferring ownership, switching and deleting; racing changes keep an owner.

mod common;

use common::console::{create_app, json, owner};
use common::orgs::{current_org, member, member_ids, member_roles};
use common::{spawn_app, Backend};

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
    assert_eq!(call(&alice, "leave_org", vec![org()]).await.status(), 409);
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
    assert_eq!(demote.status(), 409);
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
        statuses.contains(&200) && statuses.contains(&409),
        "{statuses:?}"
    );
    let (stayed, stayer) = if statuses[0] == 409 {
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

on_both_backends!(
    members_change_roles_leave_and_hand_over_ownership,
    racing_changes_never_leave_an_organization_without_an_owner,
);
