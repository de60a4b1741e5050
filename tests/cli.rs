//! The `facehook` binary's commands, run as an operator would run them.

mod common;

use common::{new_client, Backend, TestDatabase};
use facehook::server::clock::now_ms;
use std::io::Write;
use std::process::{Command, Stdio};

fn facehook(args: &[&str], database_url: &str, stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start facehook");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("facehook finishes")
}

async fn create_account_from_the_shell(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let migrated = facehook(&["migrate"], &database.url, "");
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let created = facehook(
        &["create-account", "--email", "Ops@Example.com", "--operator"],
        &database.url,
        "a long operator password\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("operator account ops@example.com"));

    let short = facehook(
        &["create-account", "--email", "x@example.com"],
        &database.url,
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));

    let duplicate = facehook(
        &["create-account", "--email", "ops@example.com"],
        &database.url,
        "another long password\n",
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    // The account signs in to a server on the same database.
    let mut config = facehook::server::config::ServeConfig::for_database(database.url.clone());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let app = facehook::startup::Application::build(config).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let response = new_client()
        .post(format!("{address}/api/sign_in"))
        .form(&[
            ("email", "ops@example.com"),
            ("password", "a long operator password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.abort();
}

async fn provision_apps_and_endpoints_from_the_shell(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let created = facehook(
        &["create-account", "--email", "owner@example.com"],
        &database.url,
        "a long owner password\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let app = facehook(
        &[
            "apps",
            "create",
            "--owner",
            "owner@example.com",
            "--name",
            "Lobby",
            "--plan",
            "business",
        ],
        &database.url,
        "",
    );
    assert!(
        app.status.success(),
        "{}",
        String::from_utf8_lossy(&app.stderr)
    );
    let app: serde_json::Value = serde_json::from_slice(&app.stdout).expect("JSON on stdout");
    let public_id = app["publicId"].as_str().unwrap().to_owned();
    assert!(public_id.starts_with("fio"));
    assert!(app["apiKey"].as_str().unwrap().starts_with("fhk_live_"));

    let endpoint = facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            "https://example.com/hook",
            "--events",
            "enroll,auth",
            "--include-payload",
            "--timeout-secs",
            "12",
        ],
        &database.url,
        "",
    );
    assert!(
        endpoint.status.success(),
        "{}",
        String::from_utf8_lossy(&endpoint.stderr)
    );
    let endpoint: serde_json::Value = serde_json::from_slice(&endpoint.stdout).unwrap();
    assert!(endpoint["endpointId"].as_str().unwrap().starts_with("ep_"));
    assert!(endpoint["webhookToken"]
        .as_str()
        .unwrap()
        .starts_with("fhw_"));
    assert!(endpoint["signingSecret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));

    // Same rules as the console: a loopback URL needs the allow-list, which the flag provides.
    let refused = facehook(
        &["endpoints", "add", &public_id, "http://127.0.0.1:9/hook"],
        &database.url,
        "",
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
    let allowed = facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            "http://127.0.0.1:9/hook",
            "--allow-targets",
            "127.0.0.0/8",
        ],
        &database.url,
        "",
    );
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let bad_events = facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            "https://example.com/x",
            "--events",
            "login",
        ],
        &database.url,
        "",
    );
    assert!(String::from_utf8_lossy(&bad_events.stderr).contains("Unknown event"));

    let downgrade = facehook(&["set-plan", &public_id, "free"], &database.url, "");
    assert!(downgrade.status.success());
    let payload_on_free = facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            "https://example.com/p",
            "--include-payload",
        ],
        &database.url,
        "",
    );
    assert!(!payload_on_free.status.success());
    assert!(String::from_utf8_lossy(&payload_on_free.stderr).contains("Business plan"));

    let bad_plan = facehook(&["set-plan", &public_id, "gold"], &database.url, "");
    assert!(!bad_plan.status.success());
    assert!(String::from_utf8_lossy(&bad_plan.stderr).contains("Unknown plan"));
    let missing = facehook(&["set-plan", "fiozzzzzzzz", "free"], &database.url, "");
    assert!(!missing.status.success());
    let no_owner = facehook(
        &[
            "apps",
            "create",
            "--owner",
            "nobody@example.com",
            "--name",
            "X",
        ],
        &database.url,
        "",
    );
    assert!(String::from_utf8_lossy(&no_owner.stderr).contains("No account"));

    let store = database.store().await;
    let stored = store
        .app_by_id(&public_id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.plan, "free");
    assert_eq!(
        store
            .endpoints_of_app(&public_id.as_str().into())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn unsupported_database_url_is_a_clear_error() {
    let output = facehook(&["migrate"], "mysql://localhost/x", "");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite: or postgres:"));
}

#[test]
fn bad_dispatch_settings_are_refused_with_the_reason() {
    for (flag, value, reason) in [
        (
            "--retry-schedule",
            "0s,5d",
            "is not a delay like 500ms, 5s, 5m or 2h",
        ),
        (
            "--disable-failing-after-days",
            "-1",
            "is not a positive number of days",
        ),
        (
            "--disable-failing-after-days",
            "NaN",
            "is not a positive number of days",
        ),
        ("--max-in-flight-per-endpoint", "0", "0 is not in 1..=1000"),
    ] {
        let output = facehook(
            &["dispatch", &format!("{flag}={value}")],
            "sqlite://unused.db",
            "",
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} {value}");
        assert!(
            stderr.contains(flag) && stderr.contains(reason),
            "{flag} {value}: {stderr}"
        );
    }
}

/// `apps create --org` acts as the account's member of that organization, with its role.
async fn the_shell_honours_roles(backend: Backend) {
    use facehook::server::secrets::hash_api_key;
    use facehook::server::store::NewInvitation;

    let database = TestDatabase::create(backend).await;
    for email in ["owner@example.com", "viewer@example.com"] {
        let created = facehook(
            &["create-account", "--email", email],
            &database.url,
            "a long enough password\n",
        );
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let store = database.store().await;
    let owner = store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let viewer = store
        .account_by_email("viewer@example.com")
        .await
        .unwrap()
        .unwrap();
    let org_id = store.memberships(&owner.id).await.unwrap()[0]
        .org_id
        .clone();
    store
        .insert_invitation(NewInvitation {
            org_id: &org_id,
            email: "viewer@example.com",
            role: "viewer",
            token_hash: &hash_api_key("fhi_cli"),
            invited_by: Some(&owner.id),
            expires_at: now_ms() + 60_000,
        })
        .await
        .unwrap();
    assert!(store
        .accept_invitation(&hash_api_key("fhi_cli"), &viewer.id)
        .await
        .unwrap()
        .is_some());
    store.close().await;

    let create = |email: &str, org: &str| {
        facehook(
            &[
                "apps",
                "create",
                "--owner",
                email,
                "--name",
                "Shell app",
                "--org",
                org,
            ],
            &database.url,
            "",
        )
    };
    let refused = create("viewer@example.com", org_id.as_str());
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("Your role (Viewer) cannot create applications"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let elsewhere = create("owner@example.com", "org_nosuchorganization");
    assert!(!elsewhere.status.success());
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("Not found"));
    let made = create("owner@example.com", org_id.as_str());
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

on_both_backends!(
    create_account_from_the_shell,
    provision_apps_and_endpoints_from_the_shell,
    the_shell_honours_roles
);
