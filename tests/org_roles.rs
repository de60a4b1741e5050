//! Every action against every role, in the member's own organization and from another one,
//! on SQLite and PostgreSQL. The expected table is the README's role table, written out here
//! by hand so that a change to the rules fails this test.

mod common;

use common::console::{create_app, json, owner, save_endpoint};
use common::dispatch::loopback_dispatch;
use common::orgs::{current_org, member};
use common::{spawn_app_with, Backend, TestApp};
use std::collections::HashSet;

const OWNER: u8 = 1;
const ADMIN: u8 = 2;
const DEVELOPER: u8 = 4;
const VIEWER: u8 = 8;
const EVERYONE: u8 = OWNER | ADMIN | DEVELOPER | VIEWER;

/// One action: its server function, who may call it, and the audit entry it leaves.
struct Case {
    function: &'static str,
    allowed: u8,
    audit: Option<&'static str>,
}

const fn case(function: &'static str, allowed: u8, audit: Option<&'static str>) -> Case {
    Case {
        function,
        allowed,
        audit,
    }
}

/// Application-level actions; `{app}`, `{endpoint}` and `{org}` are filled in per role.
const APP_CASES: &[Case] = &[
    case("get_app", EVERYONE, None),
    case("list_endpoints", EVERYONE, None),
    case("list_deliveries", EVERYONE, None),
    case("list_facial_ids", EVERYONE, None),
    case("event_catalog", EVERYONE, None),
    case("rename_app", OWNER | ADMIN, Some("app.rename")),
    case("rotate_api_key", OWNER | ADMIN, Some("app.api_key_rotate")),
    case(
        "reveal_webhook_token",
        OWNER | ADMIN | DEVELOPER,
        Some("app.webhook_token_reveal"),
    ),
    case(
        "rotate_webhook_token",
        OWNER | ADMIN,
        Some("app.webhook_token_rotate"),
    ),
    case(
        "save_endpoint",
        OWNER | ADMIN | DEVELOPER,
        Some("endpoint.update"),
    ),
    case(
        "reveal_signing_secrets",
        OWNER | ADMIN | DEVELOPER,
        Some("endpoint.secret_reveal"),
    ),
    case(
        "rotate_signing_secret",
        OWNER | ADMIN,
        Some("endpoint.secret_rotate"),
    ),
    case(
        "send_test_event",
        OWNER | ADMIN | DEVELOPER,
        Some("endpoint.test_event"),
    ),
    case(
        "replay_failed",
        OWNER | ADMIN | DEVELOPER,
        Some("endpoint.replay"),
    ),
    case("delete_facial_id", OWNER | ADMIN, Some("facial_id.delete")),
    case(
        "delete_endpoint",
        OWNER | ADMIN | DEVELOPER,
        Some("endpoint.delete"),
    ),
    case("delete_app", OWNER | ADMIN, Some("app.delete")),
];

/// Organization-level actions.
const ORG_CASES: &[Case] = &[
    case("audit_log", OWNER | ADMIN, None),
    case("invite_member", OWNER | ADMIN, Some("member.invite")),
    case("rename_org", OWNER, Some("org.rename")),
];

fn form<'a>(
    function: &str,
    app_name: &'a str,
    public_id: &'a str,
    endpoint_id: &'a str,
    org_id: &'a str,
    invitee: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let app = ("public_id", public_id);
    let endpoint = ("endpoint_id", endpoint_id);
    match function {
        "rename_app" => vec![app, ("name", app_name)],
        "save_endpoint" => vec![
            app,
            endpoint,
            ("url", "http://127.0.0.1:9/hook"),
            ("enabled", "on"),
            ("description", "edited"),
        ],
        "replay_failed" => vec![
            app,
            endpoint,
            ("since", "2026-01-01T00:00"),
            ("confirm", "on"),
        ],
        "delete_facial_id" => vec![app, ("facial_id", "face-1"), ("confirm", "on")],
        "delete_app" => vec![app, ("confirmation", app_name)],
        "audit_log" => vec![],
        "invite_member" => vec![("org_id", org_id), ("email", invitee), ("role", "viewer")],
        "rename_org" => vec![("org_id", org_id), ("name", "Acme Inc")],
        "get_app"
        | "list_endpoints"
        | "list_deliveries"
        | "list_facial_ids"
        | "event_catalog"
        | "rotate_api_key"
        | "reveal_webhook_token"
        | "rotate_webhook_token" => vec![app],
        _ => vec![app, endpoint],
    }
}

async fn every_action_is_allowed_or_refused_by_role(backend: Backend) {
    let app = spawn_app_with(backend, |config| loopback_dispatch(config, "0s")).await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let roles = [
        ("owner", OWNER, alice.clone()),
        (
            "admin",
            ADMIN,
            member(&app, &alice, &org_id, "bob@example.com", "admin").await,
        ),
        (
            "developer",
            DEVELOPER,
            member(&app, &alice, &org_id, "carol@example.com", "developer").await,
        ),
        (
            "viewer",
            VIEWER,
            member(&app, &alice, &org_id, "dave@example.com", "viewer").await,
        ),
    ];
    let outsider = owner(&app, "eve@example.com").await;

    for (role, bit, client) in &roles {
        // A fresh application for each role, since some actions delete it.
        let name = format!("App for {role}");
        let (public_id, endpoint_id) = endpoint_app(&app, &alice, &name).await;
        let invitee = format!("invitee-of-{role}@example.com");
        for case in APP_CASES.iter().chain(ORG_CASES) {
            let form = form(
                case.function,
                &name,
                &public_id,
                &endpoint_id,
                &org_id,
                &invitee,
            );
            // Another organization's member sees nothing, whatever it asks.
            if case.function != "audit_log" {
                let response = app.call_with(&outsider, case.function, &form).await;
                assert_eq!(response.status(), 404, "outsider {}", case.function);
            }
            let response = app.call_with(client, case.function, &form).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if case.allowed & bit != 0 {
                assert!(
                    status == 200 || (case.function == "delete_facial_id" && status == 404),
                    "{role} may {}: {status} {body}",
                    case.function
                );
            } else {
                assert_eq!(status, 403, "{role} may not {}: {body}", case.function);
                assert!(
                    body.contains("Your role") && body.contains(&title(role)),
                    "{role} {}: {body}",
                    case.function
                );
            }
        }
    }

    // Each allowed change left its entry, naming who did it.
    let log = json(app.call_with(&alice, "audit_log", &[]).await).await;
    let mut log_pages = vec![log];
    while log_pages.last().unwrap()["has_more"] == true {
        let page = (log_pages.len()).to_string();
        log_pages.push(json(app.call_with(&alice, "audit_log", &[("page", &page)]).await).await);
    }
    let seen: HashSet<(String, String)> = log_pages
        .iter()
        .flat_map(|page| page["entries"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (role, bit, _) in &roles {
        let email = match *role {
            "owner" => "alice@example.com",
            "admin" => "bob@example.com",
            "developer" => "carol@example.com",
            _ => "dave@example.com",
        };
        for case in APP_CASES.iter().chain(ORG_CASES) {
            // A deleted facial ID that never existed changes nothing and is not logged.
            let Some(action) = case.audit.filter(|a| *a != "facial_id.delete") else {
                continue;
            };
            let expected = case.allowed & bit != 0;
            assert_eq!(
                seen.contains(&(email.to_owned(), action.to_owned())),
                expected,
                "{role} {action}"
            );
        }
    }
    // The others signed in before they joined; alice's sign-in is in her organization's log.
    assert!(seen.contains(&("alice@example.com".to_owned(), "console.sign_in".to_owned())));
    for action in [
        "member.invite",
        "member.invitation_accept",
        "app.create",
        "endpoint.create",
    ] {
        assert!(
            seen.iter().any(|(_, a)| a == action),
            "{action} in {seen:?}"
        );
    }
}

fn title(role: &str) -> String {
    let mut chars = role.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An application with one endpoint at a closed loopback port (test events fail fast).
async fn endpoint_app(app: &TestApp, client: &reqwest::Client, name: &str) -> (String, String) {
    let public_id = create_app(app, client, name).await;
    let url = [("url", "http://127.0.0.1:9/hook")];
    let saved = json(save_endpoint(app, client, &public_id, &url).await).await;
    (public_id, saved["id"].as_str().unwrap().to_owned())
}

on_both_backends!(every_action_is_allowed_or_refused_by_role);
