//! `make bench`: events/s accepted by `POST /api/v1/events` with one subscribed endpoint, on
//! SQLite and PostgreSQL, 32 requests in flight: first with no dispatcher running, then live
//! (the server's dispatcher delivering each event to a loopback receiver as they arrive,
//! timed until the last is delivered). Prints throughput and p50/p99 latency next to each
//! backend's goals (SQLite 5 000 events/s with p99 ≤ 20 ms, PostgreSQL 3 000 events/s with
//! p99 ≤ 30 ms).
//! The load generator shares the machine's cores with the server, as a co-located client would.

#[path = "../tests/common/mod.rs"]
mod common;

use common::console::{create_app, json, owner, save_endpoint};
use common::receiver::Receiver;
use common::{spawn_app_with, Backend};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const WARMUP: usize = 500;
const EVENTS: usize = 10_000;

/// Each backend's goal: events per second, and p99 latency in milliseconds.
fn goals(backend: Backend) -> (f64, f64) {
    match backend {
        Backend::Sqlite => (5_000.0, 20.0),
        Backend::Postgres => (3_000.0, 30.0),
    }
}

struct Figures {
    events_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

#[tokio::main]
async fn main() {
    println!("intake benchmark: {EVENTS} enroll events, concurrency {CONCURRENCY}, one subscribed endpoint, dispatcher off, then live");
    println!(
        "{:<15} {:>12} {:>10} {:>10} {:>18} {:>16}",
        "backend", "events/s", "p50 ms", "p99 ms", "vs goal events/s", "p99 vs goal"
    );
    for (backend, live) in [
        (Backend::Sqlite, false),
        (Backend::Postgres, false),
        (Backend::Sqlite, true),
        (Backend::Postgres, true),
    ] {
        let figures = run(backend, live).await;
        let (goal_rate, goal_p99_ms) = goals(backend);
        let name = format!("{backend:?}").to_lowercase();
        println!(
            "{:<15} {:>12.0} {:>10.2} {:>10.2} {:>10.2}x {:>5.0} {:>9.2}x {:>3.0}ms",
            if live { format!("{name} live") } else { name },
            figures.events_per_sec,
            ms(figures.p50),
            ms(figures.p99),
            figures.events_per_sec / goal_rate,
            goal_rate,
            ms(figures.p99) / goal_p99_ms,
            goal_p99_ms,
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Live, each event is also delivered to a receiver, and the rate counts until the last is.
async fn run(backend: Backend, live: bool) -> Figures {
    let receiver = Receiver::start_counting("127.0.0.1:0").await;
    let app = spawn_app_with(backend, |config| {
        common::dispatch::loopback_dispatch(config, "0s");
        config.no_dispatch = !live;
        config.api_rate_per_second = 1_000_000;
        config.api_burst = 1_000_000;
    })
    .await;
    let client = owner(&app, "bench@example.com").await;
    let public_id = create_app(&app, &client, "Bench").await;
    let key = json(
        app.call_with(&client, "take_issued_api_key", &[("public_id", &public_id)])
            .await,
    )
    .await;
    let key = key.as_str().expect("api key").to_owned();
    assert_eq!(
        save_endpoint(
            &app,
            &client,
            &public_id,
            &[("url", &receiver.url("/live"))]
        )
        .await
        .status(),
        200
    );

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("client");
    let url = Arc::new(app.url("/api/v1/events"));
    let auth = Arc::new(format!("Bearer {key}"));
    let send = move |n: usize| {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        async move {
            let body = format!(
                r#"{{"eventName":"enroll","facialId":"bench-{n}","clientIp":"203.0.113.{}","details":{{"age":30}},"payload":{{"n":{n}}}}}"#,
                n % 250
            );
            let started = Instant::now();
            let response = http
                .post(url.as_str())
                .header("Authorization", auth.as_str())
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 202, "every event is accepted");
            started.elapsed()
        }
    };

    drive(WARMUP, 0, &send).await;
    let started = Instant::now();
    let mut latencies = drive(EVENTS, WARMUP, &send).await;
    if live {
        receiver
            .wait_for(WARMUP + EVENTS, Duration::from_secs(120))
            .await;
    }
    let elapsed = started.elapsed();
    receiver.stop();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        events_per_sec: EVENTS as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Sends `count` requests numbered from `first`, keeping `CONCURRENCY` in flight.
async fn drive<F, Fut>(count: usize, first: usize, send: &F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Duration> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(first));
    let end = first + count;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (next, send) = (next.clone(), send.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= end {
                    return latencies;
                }
                latencies.push(send(n).await);
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = workers.join_next().await {
        all.extend(done.expect("worker"));
    }
    all
}
