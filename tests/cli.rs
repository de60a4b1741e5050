//! The `facehook` binary's commands, run as an operator would run them.

mod common;

use common::{new_client, Backend, TestDatabase};
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

#[test]
fn unsupported_database_url_is_a_clear_error() {
    let output = facehook(&["migrate"], "mysql://localhost/x", "");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite: or postgres:"));
}

on_both_backends!(create_account_from_the_shell);
