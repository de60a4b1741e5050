//! The `facehook serve` process under pressure: idle and half-spoken sockets past its starting
//! open-file limit leave probes answering, and a crowd of password hashes stays within a
//! bounded memory.

mod common;

use common::process::{free_port, provision, wait_until_serving};
use common::{new_client, Backend, TestDatabase};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// `facehook serve` started under a soft open-file limit of 1 024, as many systems set it.
async fn serve_with_1024_files(database_url: &str, port: u16, env: &[(&str, &str)]) -> Child {
    let child = Command::new("bash")
        .args(["-c", "ulimit -Sn 1024 && exec \"$0\" serve"])
        .arg(env!("CARGO_BIN_EXE_facehook"))
        .env("DATABASE_URL", database_url)
        .env("FACEHOOK_LISTEN", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start facehook serve");
    wait_until_serving(port).await;
    child
}

struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_past_the_file_limit_leave_probes_answering() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let port = free_port();
    let _server = Stopped(serve_with_1024_files(&database.url, port, &[]).await);

    let mut idle = Vec::new();
    for _ in 0..1_200 {
        idle.push(
            TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect an idle socket"),
        );
    }
    let mut half_spoken = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half_spoken
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Let the server accept every one of them.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = new_client();
    for probe in ["/healthz", "/readyz", "/login"] {
        let started = Instant::now();
        let response = client
            .get(format!("http://127.0.0.1:{port}{probe}"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{probe} did not answer: {err}"));
        assert_eq!(response.status(), 200, "{probe}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "{probe} took {took:?}");
    }

    // A request head never finished is closed after the first-request deadline (10 s).
    let mut rest = Vec::new();
    // An orderly close reads to the end; a reset is an error: either way it ended in time.
    let _ended = tokio::time::timeout(Duration::from_secs(15), half_spoken.read_to_end(&mut rest))
        .await
        .expect("the half-spoken socket is closed within 15 s");
    drop(idle);
}

/// Peak resident memory of process `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read its status");
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in its status");
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_password_hashes_stays_within_bounded_memory() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let key = provision(&database.url, "https://example.com/hook", "5");
    let port = free_port();
    let server = Stopped(
        serve_with_1024_files(
            &database.url,
            port,
            &[
                ("FACEHOOK_SIGNUPS_PER_IP_HOUR", "100000"),
                ("FACEHOOK_API_RATE", "100000"),
                ("FACEHOOK_API_BURST", "100000"),
            ],
        )
        .await,
    );
    let base = format!("http://127.0.0.1:{port}");
    let enrolled = new_client()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&key)
        .json(&json!({"eventName": "enroll", "facialId": "crowd", "clientIp": "203.0.113.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 202);

    let mut crowd = JoinSet::new();
    for n in 0..200 {
        let origin = base.clone();
        crowd.spawn(async move {
            let response = new_client()
                .post(format!("{origin}/api/sign_up"))
                .header("Origin", &origin)
                .form(&[
                    ("email", format!("crowd{n}@example.com")),
                    ("password", "a long enough password".to_owned()),
                ])
                .send()
                .await
                .expect("sign-up answers");
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        });
        let (base, key) = (base.clone(), key.clone());
        crowd.spawn(async move {
            let response = new_client()
                .put(format!("{base}/api/v1/facial-ids/crowd/pincode"))
                .bearer_auth(&key)
                .json(&json!({"pincode": format!("{:04}", n)}))
                .send()
                .await
                .expect("intake answers");
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        });
    }
    let (mut done, mut busy) = (0, 0);
    while let Some(answer) = crowd.join_next().await {
        match answer.expect("the request task") {
            (200 | 202, _) => done += 1,
            (503, true) => busy += 1,
            other => panic!("answered {other:?}"),
        }
    }
    // The first 16 per core are always admitted; the rest are admitted as room frees or are
    // told to retry at once.
    assert!(done >= 20, "only {done} of 400 hashed ({busy} busy)");
    let peak = peak_rss(server.0.id());
    assert!(
        peak < 300 * 1024 * 1024,
        "peak RSS {} MiB under 400 concurrent hashes",
        peak / (1024 * 1024)
    );
}
