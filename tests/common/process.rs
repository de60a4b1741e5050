//! The `facehook` binary run as an operator runs it: provisioned with its CLI, served on a
//! free port, talked to over HTTP.

use serde_json::Value;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `facehook <args>` on `database_url`, allowed to deliver to loopback receivers.
pub fn facehook_command(args: &[&str], database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_facehook"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("FACEHOOK_ALLOW_TARGETS", "127.0.0.0/8");
    command
}

pub fn facehook(args: &[&str], database_url: &str, stdin: &str) -> Value {
    let mut child = facehook_command(args, database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start facehook");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let output = child.wait_with_output().expect("facehook finishes");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// An operator, an application and one endpoint at `url`, made with the CLI; returns the API key.
pub fn provision(database_url: &str, url: &str, timeout_secs: &str) -> String {
    let (public_id, key) = provision_app(database_url);
    facehook(
        &[
            "endpoints",
            "add",
            &public_id,
            url,
            "--timeout-secs",
            timeout_secs,
        ],
        database_url,
        "",
    );
    key
}

/// Migrates, creates the operator and an application through the command line; returns the
/// application's public ID and API key.
pub fn provision_app(database_url: &str) -> (String, String) {
    facehook(&["migrate"], database_url, "");
    facehook(
        &["create-account", "--email", "ops@example.com"],
        database_url,
        "a long operator password\n",
    );
    let created = facehook(
        &[
            "apps",
            "create",
            "--owner",
            "ops@example.com",
            "--name",
            "Durable",
        ],
        database_url,
        "",
    );
    (
        created["publicId"].as_str().unwrap().to_owned(),
        created["apiKey"].as_str().unwrap().to_owned(),
    )
}

/// Enrolls `facial_id`; the event id if the server accepted it.
pub async fn post_enroll(port: u16, key: &str, facial_id: &str) -> Option<String> {
    post_event(port, key, "enroll", facial_id).await
}

/// POSTs an event named `event_name` about `facial_id`; its id once accepted (202).
pub async fn post_event(port: u16, key: &str, event_name: &str, facial_id: &str) -> Option<String> {
    let response = super::new_client()
        .post(format!("http://127.0.0.1:{port}/api/v1/events"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "eventName": event_name, "facialId": facial_id, "clientIp": "203.0.113.1"
        }))
        .send()
        .await
        .ok()?;
    if response.status() != 202 {
        return None;
    }
    let reply: Value = response.json().await.ok()?;
    reply["eventId"].as_str().map(str::to_owned)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub async fn serve(database_url: &str, port: u16) -> Child {
    serve_with(database_url, port, &[]).await
}

pub async fn serve_with(database_url: &str, port: u16, env: &[(&str, &str)]) -> Child {
    let child = facehook_command(&["serve"], database_url)
        .envs(env.iter().copied())
        .env("FACEHOOK_LISTEN", format!("127.0.0.1:{port}"))
        .env("FACEHOOK_RETRY_SCHEDULE", "0s,200ms,200ms,200ms,200ms")
        .env("FACEHOOK_API_RATE", "100000")
        .env("FACEHOOK_API_BURST", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start facehook serve");
    wait_until_serving(port).await;
    child
}

/// Waits (at most 30 s) until a server on `port` answers `/healthz`.
pub async fn wait_until_serving(port: u16) {
    let client = super::new_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "facehook serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
