//! A 202 means stored: a full disk and a database that goes away are answered 503 with
//! Retry-After, readiness says so within a second, and both recover by themselves. Receiver
//! replies full of NUL bytes never cost other outcomes their record.

mod common;

use common::dispatch::{dispatching_app, hooked};
use common::receiver::Receiver;
use common::{spawn_app_with, Backend, TestApp, TestDatabase};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A small tmpfs of its own, unmounted when dropped (mounting needs root, as CI runs).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("a mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fills the filesystem to `leave` bytes of free space with `filler`.
    fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.path("filler");
        let mut file = std::fs::File::create(&filler).expect("create the filler");
        let chunk = vec![0u8; 16 * 1024];
        let mut written = 0u64;
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_all())
            .is_ok()
        {
            written += chunk.len() as u64;
        }
        drop(file);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .expect("reopen the filler");
        file.set_len(written.saturating_sub(leave))
            .expect("shrink the filler");
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn readiness(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let status = app.get("/readyz").await.status().as_u16();
    (status, started.elapsed())
}

/// Enrolls a new facial ID with a 2 KB payload: `Ok(event id)` on 202, `Err(status)` on 503
/// (which must say when to retry); anything else fails the test.
async fn enroll(app: &TestApp, key: &str, n: usize) -> Result<String, u16> {
    enroll_at(&app.client, &app.address, key, n).await
}

async fn enroll_at(
    client: &reqwest::Client,
    address: &str,
    key: &str,
    n: usize,
) -> Result<String, u16> {
    let response = client
        .post(format!("{address}/api/v1/events"))
        .bearer_auth(key)
        .json(&json!({
            "eventName": "enroll", "facialId": format!("user-{n}"), "clientIp": "203.0.113.1",
            "payload": {"note": "x".repeat(2048)}
        }))
        .send()
        .await
        .expect("intake answers");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        202 => Ok(body["eventId"].as_str().unwrap().to_owned()),
        503 => {
            assert!(retry_after, "a 503 says when to retry: {body}");
            assert_eq!(body["error"]["code"], "unavailable", "{body}");
            Err(503)
        }
        other => panic!("intake answered {other}: {body}"),
    }
}

async fn stored_event_ids(database: &Path) -> HashSet<String> {
    let url = format!("sqlite://{}", database.display());
    let store = facehook::server::store::Store::connect(&url)
        .await
        .expect("reopen the database");
    let ids = match store.db() {
        facehook::server::store::Db::Sqlite(pool) => {
            sqlx::query_scalar::<_, String>("SELECT id FROM events")
                .fetch_all(pool)
                .await
                .expect("read the events")
        }
        facehook::server::store::Db::Postgres(_) => unreachable!("a SQLite file"),
    };
    store.close().await;
    ids.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_answered_503_and_every_202_is_stored() {
    let disk = Tmpfs::mount("6m");
    let database = disk.path("facehook.db");
    let url = format!("sqlite://{}", database.display());
    let mut app = hooked(
        spawn_app_with(Backend::Sqlite, |config| {
            config.database.database_url = url.clone();
            config.api_rate_per_second = 1_000_000;
            config.api_burst = 1_000_000;
        })
        .await,
    )
    .await;
    let key = app.key.clone();
    let filler = disk.fill(192 * 1024);

    let mut accepted = Vec::new();
    let mut refused = 0;
    let mut n = 0;
    while refused < 40 && n < 3_000 {
        let mut batch = JoinSet::new();
        for _ in 0..8 {
            n += 1;
            let (client, address, key) =
                (app.app.client.clone(), app.app.address.clone(), key.clone());
            batch.spawn(async move { enroll_at(&client, &address, &key, n).await });
        }
        while let Some(outcome) = batch.join_next().await {
            match outcome.expect("the request task") {
                Ok(id) => accepted.push(id),
                Err(_) => refused += 1,
            }
        }
    }
    assert!(refused >= 40, "the disk never filled after {n} events");
    let (status, took) = readiness(&app.app).await;
    assert_eq!(status, 503, "readiness while writes fail");
    assert!(
        took < Duration::from_millis(1500),
        "readiness took {took:?}"
    );

    // Space returns: intake and readiness recover without a restart.
    std::fs::remove_file(&filler).expect("free the space");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        n += 1;
        match enroll(&app.app, &key, n).await {
            Ok(id) => {
                accepted.push(id);
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "intake did not recover"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        readiness(&app.app).await.0,
        200,
        "readiness after space returned"
    );

    // Every event answered 202 is in the database after a clean stop.
    app.app.stop_serving().await;
    app.store.close().await;
    let stored = stored_event_ids(&database).await;
    let missing: Vec<_> = accepted.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} accepted events are missing",
        missing.len(),
        accepted.len()
    );
}

/// A TCP relay to PostgreSQL that can be cut (every connection closed, new ones refused)
/// and restored on the same port: the database going away, as the server sees it.
struct Relay {
    port: u16,
    tasks: JoinSet<()>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the relay");
        let port = listener.local_addr().unwrap().port();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut links = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { port, tasks }
    }

    async fn cut(mut self) -> u16 {
        self.tasks.shutdown().await;
        self.port
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_is_answered_503_promptly_and_recovers() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let relay = Relay::start(0).await;
    let mut url = url::Url::parse(&database.url).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let url = url.to_string();
    let app = hooked(
        spawn_app_with(Backend::Postgres, |config| {
            config.database.database_url = url.clone()
        })
        .await,
    )
    .await;
    assert!(enroll(&app.app, &app.key, 1).await.is_ok());
    assert_eq!(readiness(&app.app).await.0, 200);

    let port = relay.cut().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, took) = readiness(&app.app).await;
    assert_eq!(status, 503, "readiness with the database gone");
    assert!(
        took < Duration::from_millis(1500),
        "readiness took {took:?}"
    );
    let started = Instant::now();
    assert_eq!(enroll(&app.app, &app.key, 2).await, Err(503));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "intake took {:?} to refuse",
        started.elapsed()
    );

    let _relay = Relay::start(port).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while enroll(&app.app, &app.key, 3).await.is_err() {
        assert!(Instant::now() < deadline, "intake did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(readiness(&app.app).await.0, 200);
    drop(database);
}

/// A receiver that answers 410 with a body of NUL bytes and text.
async fn nul_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::GONE,
            b"gone\0\0\0 for good \0".to_vec(),
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/hook")
}

async fn a_reply_full_of_nul_bytes_costs_no_other_outcome(backend: Backend) {
    let app = dispatching_app(backend, "0s,100ms").await;
    let healthy = Receiver::start("127.0.0.1:0").await;
    let healthy_endpoint = app.add_endpoint(&healthy.url("/ok"), &[]).await;
    let gone_endpoint = app.add_endpoint(&nul_receiver().await, &[]).await;

    let mut events = Vec::new();
    for n in 0..20 {
        events.push(app.enroll(&format!("nul-{n}")).await);
    }
    healthy.wait_for(20, Duration::from_secs(20)).await;

    // The first 410 disables its endpoint: later events are not queued for it.
    let mut gone_attempts = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    for event in &events {
        loop {
            let deliveries = app.deliveries(event).await;
            // Held: queued before its endpoint was disabled, kept until it is enabled again.
            let held = |d: &facehook::server::store::DeliveryListing| {
                d.status == "pending" && !d.endpoint_enabled
            };
            let settled = deliveries
                .iter()
                .any(|d| d.endpoint_id == healthy_endpoint.id.as_str())
                && deliveries
                    .iter()
                    .all(|d| d.status == "delivered" || d.status == "failed" || held(d));
            if settled {
                for delivery in &deliveries {
                    let attempts = app.attempts(&delivery.id).await;
                    if delivery.endpoint_id == healthy_endpoint.id.as_str() {
                        assert_eq!(delivery.status, "delivered");
                        assert_eq!(attempts.len(), 1, "one record per attempt");
                    } else {
                        assert_eq!(delivery.endpoint_id, gone_endpoint.id.as_str());
                        assert!(
                            delivery.status == "failed" || held(delivery),
                            "{delivery:?}"
                        );
                        gone_attempts += attempts.len();
                        if let Some(first) = attempts.first() {
                            assert_eq!(first.attempt.status_code, Some(410));
                            let excerpt =
                                first.attempt.response_excerpt.clone().unwrap_or_default();
                            assert!(!excerpt.contains('\0'), "{excerpt:?}");
                        }
                    }
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "deliveries of {event} did not settle: {deliveries:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(gone_attempts >= 1, "the NUL reply was recorded");
    let gone = app
        .store
        .endpoints_of_app(&app.public_id.as_str().into())
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id == gone_endpoint.id.as_str())
        .unwrap();
    assert!(!gone.enabled, "410 disables the endpoint");
}

on_both_backends!(a_reply_full_of_nul_bytes_costs_no_other_outcome);
