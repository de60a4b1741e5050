//! `make bench`, scale: the figures an operator plans with, each printed with its goal.
//! - The drain rate of a 1 000 000-delivery backlog against a 10 000 one (goal ≥ 0.9×).
//! - The server's resident memory, idle and while 100 000 deliveries are pending (goal ≤ 80 MB).
//! - On PostgreSQL, two `facehook dispatch` replicas against one, with the CPU time each
//!   delivery costs Facehook and PostgreSQL (which, unlike the rate, does not depend on how
//!   many cores the machine has).
//! - Console pages under 50 signed-in sessions, with 100 000 deliveries listed
//!   (goal on SQLite: p50 ≤ 5 ms, p99 ≤ 50 ms).
//!
//! Backlogs are written with SQL (events and their deliveries, as intake writes them), since
//! sending a million events through the API would measure intake, which `intake` does.
//! `cargo bench --features ssr --bench scale -- sqlite pages` runs one backend and one part
//! (`drain`, `memory`, `replicas`, `pages`); with neither named, all of them.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use common::console::{create_app, owner, save_endpoint, PASSWORD};
use common::process::{facehook_command, free_port, provision, serve_with};
use common::receiver::{Receiver, Reply};
use common::{new_client, spawn_app_with, Backend, TestDatabase};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Endpoints a backlog is spread over: each lane holds its share, as in a real application.
const ENDPOINTS: usize = 10;

#[tokio::main]
async fn main() {
    println!("scale benchmark (loopback; server, receiver and database share the machine's cores)");
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| ["drain", "memory", "replicas", "pages"].contains(&arg.as_str()))
        .collect();
    let runs = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    for backend in support::chosen_backends() {
        let name = support::backend_name(backend);
        if runs("drain") {
            let small = drain_rate(backend, 10_000).await;
            let large = drain_rate(backend, 1_000_000).await;
            println!(
                "{name:<10} drain: 10 000 queued {small:.0}/s, 1 000 000 queued {large:.0}/s \
                 ({:.2}x; goal >= 0.90x)",
                large / small
            );
        }
        if runs("memory") {
            let (idle, pending) = resident_memory(backend).await;
            println!(
                "{name:<10} resident memory: idle {idle:.1} MB, with 100 000 pending \
                 {pending:.1} MB (goal <= 80 MB)"
            );
        }
        if backend == Backend::Postgres && runs("replicas") {
            replicas().await;
        }
        if runs("pages") {
            console_pages(backend).await;
        }
    }
}

/// Deliveries per second while `total` queued ones (over `ENDPOINTS` endpoints) are sent.
async fn drain_rate(backend: Backend, total: usize) -> f64 {
    let receiver = Receiver::start_counting("127.0.0.1:0").await;
    let hooked = common::dispatch::unthrottled_app(backend, true).await;
    for n in 0..ENDPOINTS {
        hooked
            .add_endpoint(&receiver.url(&format!("/drain/{n}")), &[])
            .await;
    }
    support::seed::backlog(&hooked.store, "drain", total / ENDPOINTS).await;
    let dispatcher = support::loopback_dispatcher(&hooked.store);
    let rate = support::steady_rate(&receiver, total).await;
    dispatcher.shutdown().await;
    receiver.stop();
    hooked.app.stop().await;
    rate
}

/// The `facehook serve` process's resident memory in MB: the most seen in 2 s of idling, and
/// in 10 s while 100 000 deliveries are pending behind a receiver that takes 100 ms a request
/// (the dispatcher finds them within its 5 s idle poll, and holds its share of them).
async fn resident_memory(backend: Backend) -> (f64, f64) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    receiver.otherwise(Reply::status(200).delayed(Duration::from_millis(100)));
    provision(&database.url, &receiver.url("/memory"), "6");
    let mut server = serve_with(&database.url, free_port(), &[]).await;
    let idle = peak_rss_mb(&server, Duration::from_secs(2)).await;
    let store = database.store().await;
    support::seed::backlog(&store, "memory", 100_000).await;
    let pending = peak_rss_mb(&server, Duration::from_secs(10)).await;
    let depth = store.queue_depth().await.unwrap();
    assert!(
        depth.pending >= 90_000,
        "still pending while measured: {}",
        depth.pending
    );
    stop(&mut server);
    receiver.stop();
    (idle, pending)
}

async fn peak_rss_mb(child: &Child, over: Duration) -> f64 {
    let until = Instant::now() + over;
    let mut peak = 0.0f64;
    while Instant::now() < until {
        peak = peak.max(support::process::rss_mb(child.id()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peak
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// One `facehook dispatch` process against two on PostgreSQL, 50 000 deliveries each run.
async fn replicas() {
    let mut one = None;
    for count in [1, 2] {
        let database = TestDatabase::create(Backend::Postgres).await;
        let receiver = Receiver::start_counting("127.0.0.1:0").await;
        provision(&database.url, &receiver.url("/replicas/0"), "6");
        let store = database.store().await;
        support::seed::more_endpoints(&store, &receiver, ENDPOINTS - 1).await;
        let total = 50_000;
        support::seed::backlog(&store, "replicas", total / ENDPOINTS).await;
        let postgres_before = support::process::postgres_cpu_secs();
        let mut workers: Vec<Child> = (0..count)
            .map(|_| {
                facehook_command(&["dispatch"], &database.url)
                    .env("FACEHOOK_RETRY_SCHEDULE", "0s")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start facehook dispatch")
            })
            .collect();
        let rate = support::steady_rate(&receiver, total).await;
        receiver
            .wait_for(total, Duration::from_secs(300))
            .await
            .len();
        let facehook_cpu: f64 = workers
            .iter()
            .map(|w| support::process::cpu_secs(w.id()))
            .sum();
        let postgres_cpu = support::process::postgres_cpu_secs() - postgres_before;
        workers.iter_mut().for_each(stop);
        receiver.stop();
        let per = |secs: f64| secs * 1000.0 / total as f64;
        let versus = one.map_or(String::new(), |one: f64| {
            format!(" ({:.2}x of one)", rate / one)
        });
        println!(
            "{:<10} {count} dispatch replica(s): {rate:.0} deliveries/s{versus}; CPU per delivery: \
             Facehook {:.3} ms, PostgreSQL {:.3} ms",
            "postgres",
            per(facehook_cpu),
            per(postgres_cpu)
        );
        one.get_or_insert(rate);
    }
    println!(
        "{:<10} (2 cores serve the replicas, PostgreSQL and the receiver here: a second replica \
         adds what the cores left over allow)",
        ""
    );
}

/// Page times under 50 sessions signed in at once, each loading the applications list and an
/// application's deliveries list (100 000 deliveries) in turn.
async fn console_pages(backend: Backend) {
    const SESSIONS: usize = 50;
    const ROUNDS: usize = 4;
    let app = spawn_app_with(backend, |config| {
        config.no_dispatch = true;
        config.api_rate_per_second = 1_000_000;
        config.api_burst = 1_000_000;
    })
    .await;
    let first = owner(&app, "pages@example.com").await;
    let public_id = create_app(&app, &first, "Pages").await;
    save_endpoint(
        &app,
        &first,
        &public_id,
        &[("url", "https://example.com/hook")],
    )
    .await;
    let store = app.database.store().await;
    support::seed::backlog(&store, "pages", 100_000).await;
    // Closed, so its write-ahead log is folded into the database as an operator's would be.
    store.close().await;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let client = new_client();
        let credentials = [("email", "pages@example.com"), ("password", PASSWORD)];
        let signed_in = app.call_with(&client, "sign_in", &credentials).await;
        assert_eq!(signed_in.status(), 200);
        sessions.push(client);
    }
    let pages = ["/apps".to_owned(), format!("/apps/{public_id}/deliveries")];
    let urls: Vec<String> = pages.iter().map(|p| app.url(p)).collect();
    let alone = load_pages(sessions[0].clone(), urls.clone(), ROUNDS).await;
    let mut loads = tokio::task::JoinSet::new();
    for client in sessions {
        loads.spawn(load_pages(client, urls.clone(), ROUNDS));
    }
    let mut times = vec![Vec::new(); pages.len()];
    let mut failed = 0;
    while let Some(done) = loads.join_next().await {
        let done = done.expect("session");
        failed += done.failed;
        for (page, mut page_times) in done.times.into_iter().enumerate() {
            times[page].append(&mut page_times);
        }
    }
    let goal = match backend {
        Backend::Sqlite => "goal p50 <= 5 ms, p99 <= 50 ms",
        Backend::Postgres => "no goal set",
    };
    for ((page, page_times), alone_times) in pages.iter().zip(times).zip(alone.times) {
        let (p50, p99) = quantiles(page_times);
        let (alone_p50, _) = quantiles(alone_times);
        println!(
            "{:<10} {SESSIONS} sessions, {page}: p50 {p50:.2} ms, p99 {p99:.2} ms ({goal}); \
             one session alone: p50 {alone_p50:.2} ms",
            support::backend_name(backend),
            page = page.replace(&public_id, ":id"),
        );
    }
    if failed > 0 {
        println!(
            "{:<10} {failed} page loads FAILED",
            support::backend_name(backend)
        );
    }
    app.stop().await;
}

struct Loads {
    /// Milliseconds per load, per page.
    times: Vec<Vec<f64>>,
    failed: usize,
}

/// Loads each of `urls` in turn, `rounds` times.
async fn load_pages(client: reqwest::Client, urls: Vec<String>, rounds: usize) -> Loads {
    let mut loads = Loads {
        times: vec![Vec::new(); urls.len()],
        failed: 0,
    };
    for _ in 0..rounds {
        for (page, url) in urls.iter().enumerate() {
            let started = Instant::now();
            let loaded = match client.get(url).send().await {
                Ok(response) if response.status() == 200 => response.bytes().await.is_ok(),
                Ok(response) => {
                    eprintln!("{url}: {}", response.status());
                    false
                }
                Err(err) => {
                    eprintln!("{url}: {err:?} after {:?}", started.elapsed());
                    false
                }
            };
            if loaded {
                loads.times[page].push(started.elapsed().as_secs_f64() * 1000.0);
            } else {
                loads.failed += 1;
            }
        }
    }
    loads
}

fn quantiles(mut samples: Vec<f64>) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}
